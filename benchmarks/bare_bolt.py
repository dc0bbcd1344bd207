"""The baseline for benchmarks/slack_ack.py: a bare Bolt AsyncApp on aiohttp that acks and posts one message."""

from __future__ import annotations

import os
import re

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient


def build() -> web.Application:
    """Bolt's defaults (process_before_response=False); the same Web API client setup as records-bot."""
    client = AsyncWebClient(token=os.environ["SLACK_BOT_TOKEN"], base_url=os.environ["SLACK_API_URL"].rstrip("/") + "/")
    client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=3))
    app = AsyncApp(client=client, signing_secret=os.environ["SLACK_SIGNING_SECRET"])

    @app.command("/records-request")
    async def command(ack, command, client):  # noqa: ANN001 - Bolt injects by name
        await ack()
        await client.chat_postMessage(channel=command["channel_id"], text="Starting a records request.")

    @app.action(re.compile(".*"))
    async def click(ack, body, client):  # noqa: ANN001
        await ack()
        await client.chat_postMessage(channel=body["container"]["channel_id"], text="Got it.")

    async def slack_events(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await app.async_dispatch(await to_bolt_request(request)))

    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    web_app = web.Application()
    web_app.router.add_post("/slack/events", slack_events)
    web_app.router.add_get("/healthz", healthz)
    return web_app


if __name__ == "__main__":
    web.run_app(build(), host="127.0.0.1", port=int(os.environ.get("PORT", "3001")), print=None, access_log=None)
