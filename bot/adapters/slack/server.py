"""The HTTP side of the Slack adapter: POST /slack/events on an aiohttp application (signatures checked by Bolt)."""

from __future__ import annotations

import logging

from aiohttp import web
from aiohttp.http_exceptions import BadHttpMessage
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp

from bot.adapters.slack.inbound import malformed

EVENTS_PATH = "/slack/events"
log = logging.getLogger("records_bot.slack")


class OneLineForUnparsableHTTP(logging.Filter):
    """aiohttp answers a request it cannot parse (a header over 8190 bytes, say a 10,240-digit timestamp) with 400
    itself, but logs it as an error with a traceback: make that the one warning line any malformed request gets."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, BadHttpMessage):
            record.msg, record.args = "refused a malformed HTTP request: %s", (type(error).__name__,)
            record.exc_info, record.exc_text, record.levelno, record.levelname = None, None, logging.WARNING, "WARNING"
        return True


def add_routes(web_app: web.Application, bolt: AsyncApp, path: str = EVENTS_PATH) -> None:
    """Mount Bolt at path; a forged or stale (over 5 minutes) signature gets 401 before any listener runs.

    A request Bolt could not read (a non-numeric timestamp, a body or payload that is not a JSON object, a payload
    without its user) gets 400 and one log line, never a 500 with a traceback.
    """

    async def slack_events(request: web.Request) -> web.Response:
        problem = malformed(request.headers, await request.read(), request.content_type)
        if problem:
            log.warning("refused a malformed Slack request: %s", problem)
            return web.json_response({"error": "malformed request"}, status=400)
        bolt_response = await bolt.async_dispatch(await to_bolt_request(request))
        return await to_aiohttp_response(bolt_response)

    web_app.router.add_post(path, slack_events)
    aiohttp_server = logging.getLogger("aiohttp.server")
    if not any(isinstance(f, OneLineForUnparsableHTTP) for f in aiohttp_server.filters):
        aiohttp_server.addFilter(OneLineForUnparsableHTTP())
