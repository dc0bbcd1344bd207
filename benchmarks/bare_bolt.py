"""The baseline for the Slack benchmarks: a bare Bolt AsyncApp on aiohttp doing the minimum (ack, post; a modal,
a DM and a channel post for an intake; a static Home view of BARE_HOME_BLOCKS blocks), no database."""

from __future__ import annotations

import os
import re

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

MODAL = {
    "type": "modal",
    "callback_id": "rr_form",
    "title": {"type": "plain_text", "text": "Records request"},
    "submit": {"type": "plain_text", "text": "Continue"},
    "private_metadata": "{}",
    "blocks": [
        {
            "type": "input",
            "block_id": "client_label",
            "label": {"type": "plain_text", "text": "Client label"},
            "element": {"type": "plain_text_input", "action_id": "client_label"},
        }
    ],
}


def home_view(count: int) -> dict:
    """A Home view of `count` blocks: a header, then rows like a request list's (a line of text, a button)."""
    blocks: list[dict] = [{"type": "header", "text": {"type": "plain_text", "text": "Records requests"}}]
    for n in range(1, count):
        if n % 2:
            line = f"*RR-2026-{n:04d}* · AB-{n} · Clinician {n % 12:04d} · review · due 2026-12-31 · 12 days left"
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": line}})
        else:
            button = {"type": "button", "action_id": f"case_file_{n}", "value": f"RR-2026-{n:04d}"}
            button["text"] = {"type": "plain_text", "text": "Case file"}
            blocks.append({"type": "actions", "block_id": f"row{n}", "elements": [button]})
    return {"type": "home", "blocks": blocks}


def build() -> web.Application:
    """Bolt's defaults (process_before_response=False); the same Web API client setup as records-bot."""
    client = AsyncWebClient(token=os.environ["SLACK_BOT_TOKEN"], base_url=os.environ["SLACK_API_URL"].rstrip("/") + "/")
    client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=3))
    app = AsyncApp(client=client, signing_secret=os.environ["SLACK_SIGNING_SECRET"])

    @app.command("/records-request")
    async def command(ack, command, client):  # noqa: ANN001 - Bolt injects by name
        await ack()
        if os.environ.get("BARE_OPENS_MODAL"):  # benchmarks/slack_intake.py: the intake form, as a modal
            await client.views_open(trigger_id=command["trigger_id"], view=MODAL)
            return
        await client.chat_postMessage(channel=command["channel_id"], text="Starting a records request.")

    @app.view("rr_form")
    async def submitted(ack, body, client):  # noqa: ANN001 - the minimum an intake needs: one DM, one channel post
        await ack()
        user = body["user"]["id"]
        dm = (await client.conversations_open(users=user))["channel"]["id"]
        await client.chat_postMessage(channel=dm, text="Created RR-2026-0001. Deadline: 2026-12-31.")
        await client.chat_postMessage(channel="C_RECORDS", text="New records request RR-2026-0001")

    @app.action(re.compile(".*"))
    async def click(ack, body, client):  # noqa: ANN001
        await ack()
        await client.chat_postMessage(channel=body["container"]["channel_id"], text="Got it.")

    @app.event("app_home_opened")
    async def home(event, client):  # noqa: ANN001 - benchmarks/slack_home.py: a static view as big as records-bot's
        count = int(os.environ.get("BARE_HOME_BLOCKS", "10"))
        await client.views_publish(user_id=event["user"], view=home_view(count))

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
