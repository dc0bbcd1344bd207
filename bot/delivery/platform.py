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
PLATFORM_MODULES = {"slack": "bot.adapters.slack.platform", "teams": "bot.adapters.teams.platform"}


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


def configured_platforms(ctx: AppContext, *, serving: bool = False) -> list[str]:
    """The platforms whose credentials are set, in a stable order.

    Serving with no credentials at all, Teams runs in local mode (no authentication, 127.0.0.1 only), so a
    newcomer can try it with the Bot Framework Emulator; it never shares a port with Slack's public endpoint.
    """
    env = ctx.env
    found = []
    if env.slack_bot_token and env.slack_signing_secret:
        found.append("slack")
    if env.microsoft_app_id or (serving and not found):
        found.append("teams")
    return found


def create_adapters(
    ctx: AppContext, conversation: Any, *, serving: bool = False, **options: Any
) -> list[PlatformAdapter]:
    adapters = []
    for name in configured_platforms(ctx, serving=serving):
        create: Callable[..., PlatformAdapter] = importlib.import_module(PLATFORM_MODULES[name]).create
        adapters.append(create(ctx, conversation, **options))
    return adapters
