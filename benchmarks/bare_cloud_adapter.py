"""The baseline for the Teams benchmark: a bare CloudAdapter bot on aiohttp that replies once per turn, no database.

As the Bot Framework samples build it: ConfigurationBotFrameworkAuthentication from a config object (no app id: the
Emulator / local set-up, the same authentication path records-bot takes in local mode), adapter.process per request.
"""

from __future__ import annotations

import os

from aiohttp import web
from botbuilder.core import ActivityHandler, TurnContext
from botbuilder.integration.aiohttp import CloudAdapter, ConfigurationBotFrameworkAuthentication


class Config:
    PORT = int(os.environ.get("PORT", "3978"))
    APP_ID = ""
    APP_PASSWORD = ""
    APP_TYPE = "MultiTenant"
    APP_TENANTID = ""


class EchoBot(ActivityHandler):
    async def on_message_activity(self, turn_context: TurnContext) -> None:
        await turn_context.send_activity("Got it.")


def build() -> web.Application:
    adapter = CloudAdapter(ConfigurationBotFrameworkAuthentication(Config()))
    bot = EchoBot()

    async def messages(request: web.Request) -> web.Response:
        return await adapter.process(request, bot)

    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    web_app = web.Application()
    web_app.router.add_post("/api/messages", messages)
    web_app.router.add_get("/healthz", healthz)
    return web_app


if __name__ == "__main__":
    web.run_app(build(), host="127.0.0.1", port=Config.PORT, print=None, access_log=None)
