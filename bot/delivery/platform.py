"""The seam every chat platform plugs into: its routes and connections, and its transport for the outbox."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from aiohttp import web

from bot.delivery.sender import SenderPort, Transport

if TYPE_CHECKING:
    from bot.context import AppContext

# platform -> the module whose `create(ctx, conversation, **options)` builds its adapter; imported only when used,
# so the core never imports a platform SDK and a platform can be replaced by swapping its folder
PLATFORM_MODULES = {"slack": "bot.adapters.slack.platform"}


class PlatformAdapter(Protocol):
    """One chat platform inside `records-bot serve`."""

    platform: str
    transport: Transport
    sender: SenderPort | None

    def add_routes(self, web_app: web.Application) -> None:
        """Mount its HTTP endpoints (none in Socket Mode)."""

    async def start(self) -> None:
        """Open its connections (a Socket Mode websocket)."""

    async def stop(self) -> None:
        """Finish the work it acked, close its connections."""

    def describe(self) -> str:
        """One line for start-up: how it is reached."""


def configured_platforms(ctx: AppContext) -> list[str]:
    """The platforms whose credentials are set, in a stable order."""
    env = ctx.env
    found = []
    if env.slack_bot_token and env.slack_signing_secret:
        found.append("slack")
    return found


def create_adapters(ctx: AppContext, conversation: Any, **options: Any) -> list[PlatformAdapter]:
    adapters = []
    for name in configured_platforms(ctx):
        create: Callable[..., PlatformAdapter] = importlib.import_module(PLATFORM_MODULES[name]).create
        adapters.append(create(ctx, conversation, **options))
    return adapters
