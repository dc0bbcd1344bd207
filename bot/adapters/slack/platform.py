"""Slack on the platform seam: the Bolt app over HTTP or Socket Mode, and its outbox transport."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import web

from bot.adapters.slack.app import SlackAdapter
from bot.delivery.sender import SenderPort, Transport
from bot.text import say

if TYPE_CHECKING:
    from bot.context import AppContext


class SlackPlatform:
    """records-bot serve's Slack side: /slack/events (HTTP) or a Socket Mode connection."""

    platform = "slack"

    def __init__(self, ctx: AppContext, adapter: SlackAdapter) -> None:
        self.ctx, self.adapter = ctx, adapter
        self.transport: Transport = adapter.transport
        self._socket: Any = None

    @property
    def sender(self) -> SenderPort | None:
        return self.adapter.sender

    @sender.setter
    def sender(self, value: SenderPort | None) -> None:
        self.adapter.sender = value

    @property
    def socket_mode(self) -> bool:
        return bool(self.ctx.env.slack_app_token)

    def add_routes(self, web_app: web.Application) -> None:
        if not self.socket_mode:
            from bot.adapters.slack.server import add_routes

            add_routes(web_app, self.adapter.app)

    async def start(self) -> None:
        # one HTTP session for every Web API call (slack_sdk opens and closes one per call otherwise): kept-alive
        # connections save a TCP (and TLS) handshake on each message
        self.adapter.client.session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=self.adapter.client.timeout)
        )
        if self.socket_mode:
            from bot.adapters.slack.socket import SocketConnection

            self._socket = SocketConnection(self.adapter.app, str(self.ctx.env.slack_app_token))
            await self._socket.connect()

    async def stop(self) -> None:
        if self._socket is not None:
            await self._socket.close()
        await self.adapter.drain()
        self.adapter.close()
        session, self.adapter.client.session = self.adapter.client.session, None
        if session is not None:
            await session.close()

    def describe(self) -> str:
        return say("slack.serving_socket" if self.socket_mode else "slack.serving_http", port=self.ctx.env.port)


def create(ctx: AppContext, conversation: Any, **options: Any) -> SlackPlatform:
    env = ctx.env
    adapter = SlackAdapter(
        conversation,
        ctx.practice,
        token=str(env.slack_bot_token),
        signing_secret=str(env.slack_signing_secret),
        api_url=env.slack_api_url,
        api_timeout=env.slack_api_timeout,
        **options,
    )
    return SlackPlatform(ctx, adapter)
