"""One aiohttp process: every configured chat platform, /healthz, the outbox sender and the reminder poller."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aiohttp import web
from sqlalchemy import text as sql

from bot.context import AppContext
from bot.delivery.email import email_transports
from bot.delivery.platform import PlatformAdapter, create_adapters
from bot.delivery.routing import Router
from bot.delivery.sender import OutboxSender
from bot.services.reminders.common import default_worker
from bot.store import utcnow

log = logging.getLogger("records_bot.server")

ADAPTER = web.AppKey("slack_adapter", object)  # the Slack adapter, when Slack is configured (tests reach in)
TEAMS_ADAPTER = web.AppKey("teams_adapter", object)  # the Teams adapter, when Teams is served
PLATFORMS = web.AppKey("platforms", list)
SENDER = web.AppKey("outbox_sender", object)
TASKS = web.AppKey("background_tasks", list)


class NoPlatform(ValueError):
    """Neither Slack nor any other chat platform has credentials: nothing to serve."""


def make_conversation(ctx: AppContext) -> Any:
    from bot.services.conversation import Conversation

    return Conversation(ctx.engine, ctx.practice, env=ctx.env)


def build_app(
    ctx: AppContext, *, conversation: Any | None = None, reminder_poller: bool = True, **adapter_options: Any
) -> web.Application:
    """The whole service as one aiohttp application (run it with web.run_app or an AppRunner).

    reminder_poller=False leaves reminders to `records-bot reminders run` (and to tests that drive time themselves).
    """
    conversation = conversation if conversation is not None else make_conversation(ctx)
    # SQLite takes one writer at a time: one thread does every write (adapters and sender), in arrival order
    sqlite = ctx.engine.dialect.name == "sqlite"
    db_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="db-writes") if sqlite else None
    if db_executor is not None:
        adapter_options.setdefault("db_executor", db_executor)
    platforms: list[PlatformAdapter] = create_adapters(ctx, conversation, serving=True, **adapter_options)
    if not platforms:
        raise NoPlatform("no chat platform is configured")
    router = Router(ctx.practice, tuple(p.platform for p in platforms))
    conversation.router = router  # what the core writes goes to exactly the platforms this process serves
    transports = {p.platform: p.transport for p in platforms} | email_transports(ctx.env)
    sender = OutboxSender(
        ctx.engine, router, transports, worker=default_worker(), poll_interval=1.0, db_executor=db_executor
    )
    web_app = web.Application()
    web_app[PLATFORMS] = platforms
    web_app[SENDER] = sender
    for platform in platforms:
        platform.sender = sender
        platform.add_routes(web_app)
        if platform.platform == "slack":
            web_app[ADAPTER] = platform.adapter  # type: ignore[attr-defined]
        if platform.platform == "teams":
            web_app[TEAMS_ADAPTER] = platform.adapter  # type: ignore[attr-defined]

    async def healthz(_request: web.Request) -> web.Response:
        try:
            await asyncio.to_thread(_ping_database, ctx)
        except Exception as exc:  # the process is up but cannot reach its database: unhealthy
            return web.json_response({"status": "error", "database": type(exc).__name__}, status=503)
        return web.json_response({"status": "ok", "platforms": [p.platform for p in platforms]})

    web_app.router.add_get("/healthz", healthz)

    async def start_background(app: web.Application) -> None:
        await asyncio.to_thread(warm_up, ctx)
        for platform in platforms:
            await platform.start()
        app[TASKS] = [asyncio.create_task(sender.run_forever())]
        if reminder_poller:
            app[TASKS].append(asyncio.create_task(poll_reminders(ctx, router, sender.kick)))

    async def stop_background(app: web.Application) -> None:
        for task in app.get(TASKS, []):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for platform in platforms:
            await platform.stop()  # finish what was acked: its messages are rows by now
        with contextlib.suppress(Exception):
            await asyncio.wait_for(sender.drain(timeout=5), timeout=6)  # what is left goes out after a restart
        with contextlib.suppress(Exception):
            await sender.release_mine()  # and is not held back by this process's claims

    web_app.on_startup.append(start_background)
    web_app.on_cleanup.append(stop_background)
    return web_app


async def settle(web_app: web.Application, timeout: float = 10.0) -> None:
    """Finish acked work and send what it wrote (tests and benchmarks wait on this)."""
    for platform in web_app[PLATFORMS]:
        await platform.adapter.drain(timeout)  # type: ignore[attr-defined]
    await web_app[SENDER].drain(timeout)  # type: ignore[attr-defined]


def warm_up(ctx: AppContext) -> None:
    """Do the first-time work before the first person waits on it: compile every template, load the holiday
    calendars the practice's deadlines use, open a database connection (the first intake took half a second)."""
    from bot.domain.deadlines import due_dates
    from bot.store import utcnow
    from bot.text import precompile

    precompile()
    for access in ("copy", "inspect", "summary"):
        due_dates(utcnow().date(), ctx.practice.jurisdiction, access)
    _ping_database(ctx)


def _ping_database(ctx: AppContext) -> None:
    with ctx.engine.connect() as connection:
        connection.execute(sql("SELECT 1"))


async def poll_reminders(ctx: AppContext, router: Router, kick: Callable[[], None]) -> None:
    """Every POLL_INTERVAL_SECONDS: claim due reminders and write their messages to the outbox (several processes
    may poll; each reminder is claimed by one), then wake the sender."""
    from bot.services.reminders import sweep

    worker = default_worker()
    while True:
        try:
            report = await asyncio.to_thread(sweep, ctx.engine, ctx.practice, router, now=utcnow(), worker=worker)
            if report.sent:
                kick()
        except Exception:
            log.exception("reminder sweep failed; trying again next interval")
        await asyncio.sleep(ctx.env.poll_interval_seconds)


def serve(
    ctx: AppContext, *, host: str = "0.0.0.0", port: int | None = None, announce: Callable[[str], None] = print
) -> None:
    """Run until stopped (Ctrl-C or SIGTERM)."""
    port = port or ctx.env.port
    # Background database work runs in threads; a short GIL switch interval lets the event loop answer Slack's
    # acks within a millisecond or so of wanting to, instead of waiting up to the default 5 ms per hand-over.
    sys.setswitchinterval(0.001)
    web_app = build_app(ctx)
    for platform in web_app[PLATFORMS]:
        announce(platform.describe())
    if any(getattr(platform, "local_only", False) for platform in web_app[PLATFORMS]):
        host = "127.0.0.1"  # a platform without authentication (Teams local mode) is never reachable from outside
    web.run_app(web_app, host=host, port=port, print=None, access_log=None, handle_signals=True)
