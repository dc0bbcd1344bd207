"""The HTTP side of the Slack adapter: POST /slack/events on an aiohttp application (signatures checked by Bolt)."""

from __future__ import annotations

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp

EVENTS_PATH = "/slack/events"


def add_routes(web_app: web.Application, bolt: AsyncApp, path: str = EVENTS_PATH) -> None:
    """Mount Bolt at path; a forged or stale (over 5 minutes) signature gets 401 before any listener runs."""

    async def slack_events(request: web.Request) -> web.Response:
        bolt_response = await bolt.async_dispatch(await to_bolt_request(request))
        return await to_aiohttp_response(bolt_response)

    web_app.router.add_post(path, slack_events)
