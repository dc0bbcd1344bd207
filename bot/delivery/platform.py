"""The seam every chat platform plugs into: its routes and connections, and its transport for the outbox."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from aiohttp import web

from bot.delivery.sender import SenderPort, Transport
from bot.prompts import Answer, Origin, Prompt, Reply

if TYPE_CHECKING:
    from bot.context import AppContext


class ConversationStore(Protocol):
    """What a transport asks of the core while sending: where a platform keeps how to reach people and channels
    (a Slack DM channel id, a Teams conversation reference), in the database under (platform, key) with keys
    "dm:<platform user id>" and "channel:records"; and the content of a file it sends."""

    def recall(self, platform: str, key: str) -> dict[str, Any] | None: ...

    def remember(self, platform: str, key: str, reference: dict[str, Any]) -> None: ...

    def file_content(self, ref: str) -> str:
        """What a file prompt (kind "file") carries, made when it is sent: a case file as Markdown."""
        ...


class ConversationPort(ConversationStore, Protocol):
    """What every chat adapter uses of the core (bot.services.conversation.Conversation): all synchronous, the
    database inside, so adapters run these on a worker thread. The actor is an Origin: platform, the person's id
    there, and the message they answered. A Reply whose `queued` is set has already been written to the outbox:
    the adapter only wakes the sender; any other Reply (help, status, "already done") is answered directly."""

    def start(self, actor: Origin, *, inbound_key: str | None = None) -> Reply: ...

    def answer(self, answer: Answer, *, inbound_key: str | None = None) -> Reply: ...

    def command(self, actor: Origin, text: str, *, inbound_key: str | None = None) -> Reply: ...

    def back(self, actor: Origin, ref: str | None = None) -> Reply: ...

    def current(self, run_id: int, actor: Origin) -> Reply: ...

    def validate_form(self, ref: str, values: dict[str, Any]) -> dict[str, str]: ...

    def home(self, actor: Origin) -> list[Prompt]: ...

    def member_name(self, actor: Origin) -> str | None: ...


# platform -> the module whose `create(ctx, conversation, **options)` builds its adapter; imported only when used,
# so the core never imports a platform SDK and a platform can be replaced by swapping its folder
PLATFORM_MODULES = {"slack": "bot.adapters.slack.platform", "teams": "bot.adapters.teams.platform"}


class AdapterPlatform:
    """The plumbing every platform shares: it wraps its adapter, whose transport it offers and whose sender it sets."""

    platform = ""

    def __init__(self, ctx: AppContext, adapter: Any) -> None:
        self.ctx, self.adapter = ctx, adapter
        self.transport: Transport = adapter.transport

    @property
    def sender(self) -> SenderPort | None:
        return self.adapter.sender

    @sender.setter
    def sender(self, value: SenderPort | None) -> None:
        self.adapter.sender = value


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
