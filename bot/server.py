"""One aiohttp process: Slack (HTTP endpoint or Socket Mode), /healthz, the reminder poller, and Teams when present."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import importlib.util
import logging
import os
import socket
import sys
from collections.abc import Callable
from typing import Any

from aiohttp import web
from sqlalchemy import text as sql

from bot.context import AppContext
from bot.prompts import Outbound
from bot.store import utcnow

log = logging.getLogger("records_bot.server")

ADAPTER = web.AppKey("slack_adapter", object)
SOCKET = web.AppKey("slack_socket", object)
POLLER = web.AppKey("reminder_poller", object)


def _module(name: str) -> Any | None:
    """An optional module of ours (written by another part of the project), or None while it does not exist."""
    try:
        if importlib.util.find_spec(name) is None:
            return None
    except ModuleNotFoundError:
        return None
    return importlib.import_module(name)


def make_conversation(ctx: AppContext) -> Any:
    from bot.services.conversation import Conversation

    return Conversation(ctx.engine, ctx.practice, env=ctx.env)


def build_app(ctx: AppContext, *, conversation: Any | None = None, **adapter_options: Any) -> web.Application:
    """The whole service as one aiohttp application (run it with web.run_app or an AppRunner)."""
    from bot.adapters.slack.app import SlackAdapter
    from bot.adapters.slack.server import add_routes

    env = ctx.env
    if not env.slack_bot_token or not env.slack_signing_secret:
        raise ValueError("SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET are required")
    adapter = SlackAdapter(
        conversation if conversation is not None else make_conversation(ctx),
        ctx.practice,
        token=env.slack_bot_token,
        signing_secret=env.slack_signing_secret,
        api_url=env.slack_api_url,
        **adapter_options,
    )
    web_app = web.Application()
    web_app[ADAPTER] = adapter
    mode = "socket" if env.slack_app_token else "http"

    async def healthz(_request: web.Request) -> web.Response:
        try:
            await asyncio.to_thread(_ping_database, ctx)
        except Exception as exc:  # the process is up but cannot reach its database: unhealthy
            return web.json_response({"status": "error", "database": type(exc).__name__}, status=503)
        return web.json_response({"status": "ok", "slack": mode})

    web_app.router.add_get("/healthz", healthz)
    if mode == "http":
        add_routes(web_app, adapter.app)
    teams = _module("bot.adapters.teams.server")
    if teams is not None and hasattr(teams, "add_routes"):
        teams.add_routes(web_app, ctx)

    async def start_background(app: web.Application) -> None:
        if env.slack_app_token:
            from bot.adapters.slack.socket import SocketConnection

            connection = SocketConnection(adapter.app, env.slack_app_token)
            await connection.connect()
            app[SOCKET] = connection
        app[POLLER] = asyncio.create_task(poll_reminders(ctx, deliverer(adapter, asyncio.get_running_loop())))

    async def stop_background(app: web.Application) -> None:
        poller = app.get(POLLER)
        if poller is not None:
            poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await poller
        connection = app.get(SOCKET)
        if connection is not None:
            await connection.close()
        await adapter.drain()
        adapter.close()

    web_app.on_startup.append(start_background)
    web_app.on_cleanup.append(stop_background)
    return web_app


def _ping_database(ctx: AppContext) -> None:
    with ctx.engine.connect() as connection:
        connection.execute(sql("SELECT 1"))


def deliverer(adapter: Any, loop: asyncio.AbstractEventLoop) -> Callable[[Outbound], None]:
    """A synchronous deliver(outbound) for the reminder sweep (it runs in a worker thread): posts via the app's loop."""

    def deliver(outbound: Outbound) -> None:
        asyncio.run_coroutine_threadsafe(adapter.delivery.outbound(outbound), loop).result(timeout=120)

    return deliver


async def poll_reminders(ctx: AppContext, deliver: Callable[[Outbound], None]) -> None:
    """Every POLL_INTERVAL_SECONDS: claim and send due reminders (claimed atomically, so several processes may poll)."""
    reminders = _module("bot.services.reminders")
    if reminders is None or not hasattr(reminders, "sweep"):
        log.info("reminder poller off: bot.services.reminders is not available")
        return
    worker = f"{socket.gethostname()}:{os.getpid()}"
    while True:
        try:
            await asyncio.to_thread(reminders.sweep, ctx.engine, ctx.practice, deliver, now=utcnow(), worker=worker)
        except Exception:
            log.exception("reminder sweep failed; trying again next interval")
        await asyncio.sleep(ctx.env.poll_interval_seconds)


def serve(
    ctx: AppContext, *, host: str = "0.0.0.0", port: int | None = None, announce: Callable[[str], None] = print
) -> None:
    """Run until stopped (Ctrl-C or SIGTERM)."""
    from bot.text import say

    port = port or ctx.env.port
    # Background database work runs in threads; a short GIL switch interval lets the event loop answer Slack's
    # acks within a millisecond or so of wanting to, instead of waiting up to the default 5 ms per hand-over.
    sys.setswitchinterval(0.001)
    web_app = build_app(ctx)
    key = "slack.serving_socket" if ctx.env.slack_app_token else "slack.serving_http"
    announce(say(key, port=port))
    web.run_app(web_app, host=host, port=port, print=None, access_log=None, handle_signals=True)
