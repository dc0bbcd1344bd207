"""Socket Mode: the app dials out to Slack over a WebSocket (no public URL); the default for a single practice."""

from __future__ import annotations

from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp


class SocketConnection:
    """Opens and closes the Socket Mode connection for an AsyncApp with an app-level token (xapp-...)."""

    def __init__(self, bolt: AsyncApp, app_token: str) -> None:
        self.handler = AsyncSocketModeHandler(bolt, app_token, web_client=bolt.client)

    async def connect(self) -> None:
        await self.handler.connect_async()

    async def close(self) -> None:
        await self.handler.close_async()
