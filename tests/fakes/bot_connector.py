"""A fake Bot Connector (Teams' serviceUrl) on 127.0.0.1 that records every call; run as a module for benchmarks."""

from __future__ import annotations

import itertools
import json
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.slack_api import ServerThread, serve_until_killed

BOT_ID = "28:records-bot"
TENANT = "tenant-1"


@dataclass
class Call:
    """One request the fake received: what it was (send, reply, update, create), where, and the activity sent."""

    method: str
    conversation: str
    activity_id: str | None
    body: dict[str, Any]
    auth: str
    at: float = field(default_factory=time.monotonic)
    answered: dict[str, Any] | None = None  # what the fake answered, when it answered ok

    @property
    def card(self) -> dict[str, Any]:
        """The Adaptive Card the activity carried ({} for a plain text message)."""
        for attachment in self.body.get("attachments") or []:
            if attachment.get("contentType") == "application/vnd.microsoft.card.adaptive":
                return attachment.get("content") or {}
        return {}

    @property
    def texts(self) -> str:
        """Every TextBlock of the card (and the activity's text), in order, as one string."""
        found = [self.body.get("text") or ""] + [
            n.get("text", "") for n in _walk(self.card) if n.get("type") == "TextBlock"
        ]
        return "\n".join(t for t in found if t)

    def submits(self) -> list[dict[str, Any]]:
        """Every Action.Submit on the card (their data is what a click sends back)."""
        return [n for n in _walk(self.card) if n.get("type") == "Action.Submit"]

    def inputs(self) -> dict[str, dict[str, Any]]:
        """The card's inputs by id."""
        return {n["id"]: n for n in _walk(self.card) if str(n.get("type", "")).startswith("Input.") and n.get("id")}


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    """Every element of a card, depth first, in order."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item)


@dataclass
class _Failure:
    status: int
    retry_after: int | None
    times: int
    conversation: str | None = None  # only calls into this conversation


class FakeBotConnector:
    """Answers the Connector REST calls the bot makes (v3 conversations), like the Bot Connector would.

    fake = FakeBotConnector().start(); activities carry serviceUrl = fake.url; ...; fake.sent(); fake.stop()
    """

    def __init__(self, *, record: bool = True) -> None:
        self.calls: list[Call] = []
        self.counts: Counter[str] = Counter()
        self.record = record
        self._failures: dict[str, list[_Failure]] = {}
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._server: ServerThread | None = None
        app = web.Application(client_max_size=4 * 1024 * 1024)
        app.router.add_post("/v3/conversations", self._create)
        app.router.add_post("/v3/conversations/{conversation}/activities", self._send)
        app.router.add_post("/v3/conversations/{conversation}/activities/{activity}", self._send)
        app.router.add_put("/v3/conversations/{conversation}/activities/{activity}", self._update)
        app.router.add_get("/_counts", self._counts)
        self._app = app
        self.url = ""

    def start(self, port: int = 0) -> FakeBotConnector:
        self._server = ServerThread(self._app, port=port)
        self.url = f"http://127.0.0.1:{self._server.start()}"
        return self

    def stop(self) -> None:
        if self._server:
            self._server.stop()

    # ---- what tests tell it and ask it ----------------------------------------------------------------------------

    def fail_next(
        self,
        method: str = "send",
        *,
        status: int = 500,
        retry_after: int | None = None,
        times: int = 1,
        conversation: str | None = None,
    ) -> None:
        """The next `times` calls of method ("send", "update", "create"), into `conversation` when given, fail with
        status (429: with Retry-After)."""
        with self._lock:
            self._failures.setdefault(method, []).append(_Failure(status, retry_after, times, conversation))

    def sent(self, conversation: str | None = None) -> list[Call]:
        """Activities the Connector accepted into conversations (sends and replies), optionally to one conversation."""
        with self._lock:
            return [
                c
                for c in self.calls
                if c.method == "send" and c.answered and (conversation is None or c.conversation == conversation)
            ]

    def updates(self) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == "update" and c.answered]

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()
            self.counts.clear()

    # ---- the HTTP side --------------------------------------------------------------------------------------------

    async def _counts(self, _request: web.Request) -> web.Response:
        with self._lock:
            return web.json_response(dict(self.counts))

    async def _record(self, method: str, request: web.Request) -> tuple[Call, web.Response | None]:
        raw = await request.read()
        body = json.loads(raw) if raw else {}
        call = Call(
            method,
            request.match_info.get("conversation", ""),
            request.match_info.get("activity"),
            body,
            request.headers.get("Authorization", ""),
        )
        with self._lock:
            self.counts[method] += 1
            if self.record:
                self.calls.append(call)
            queue = self._failures.get(method) or []
            failure = next((f for f in queue if f.conversation in (None, call.conversation)), None)
            if failure is not None:
                failure.times -= 1
                if failure.times <= 0:
                    queue.remove(failure)
        if failure is None:
            return call, None
        headers = {"Retry-After": str(failure.retry_after or 1)} if failure.status == 429 else {}
        error = {"error": {"code": "Failure", "message": f"fake failure {failure.status}"}}
        return call, web.json_response(error, status=failure.status, headers=headers)

    async def _send(self, request: web.Request) -> web.Response:
        call, failed = await self._record("send", request)
        if failed is not None:
            return failed
        call.answered = {"id": f"act-{next(self._ids)}"}
        return web.json_response(call.answered, status=201)

    async def _update(self, request: web.Request) -> web.Response:
        call, failed = await self._record("update", request)
        if failed is not None:
            return failed
        call.answered = {"id": call.activity_id}
        return web.json_response(call.answered)

    async def _create(self, request: web.Request) -> web.Response:
        call, failed = await self._record("create", request)
        if failed is not None:
            return failed
        call.answered = {"id": f"a:{uuid.uuid4().hex[:12]}", "activityId": None, "serviceUrl": self.url}
        return web.json_response(call.answered, status=201)


# ---- activities as Teams sends them to the bot ------------------------------------------------------------------------


def message(
    service_url: str,
    *,
    text: str = "",
    user: str = "aad-clin",
    value: dict[str, Any] | None = None,
    reply_to_id: str | None = None,
    conversation: str | None = None,
    conversation_type: str = "personal",
    mention: bool = False,
    activity_id: str | None = None,
) -> dict[str, Any]:
    """A message activity: typed text (with an @mention in a channel) or an Adaptive Card's Action.Submit."""
    conversation = conversation or (f"a:dm-{user}" if conversation_type == "personal" else "19:records@thread.tacv2")
    activity: dict[str, Any] = {
        "type": "message",
        "id": activity_id or f"1{time.monotonic_ns()}",
        "timestamp": "2026-03-02T15:00:00.000Z",
        "serviceUrl": service_url,
        "channelId": "msteams",
        "from": {"id": f"29:{user}", "name": user, "aadObjectId": user},
        "conversation": {"id": conversation, "conversationType": conversation_type, "tenantId": TENANT},
        "recipient": {"id": BOT_ID, "name": "Records"},
        "channelData": {"tenant": {"id": TENANT}},
        "locale": "en-US",
    }
    if mention:
        text = f"<at>Records</at> {text}"
        activity["entities"] = [
            {"type": "mention", "mentioned": {"id": BOT_ID, "name": "Records"}, "text": "<at>Records</at>"}
        ]
    if text:
        activity["text"] = text
    if value is not None:
        activity["value"] = value
    if reply_to_id:
        activity["replyToId"] = reply_to_id
    return activity


def installed(service_url: str, *, user: str = "aad-admin", in_channel: bool = True) -> dict[str, Any]:
    """The installationUpdate Teams sends when the app is added to a team (its General channel) or by a person."""
    conversation = {"id": "19:records@thread.tacv2", "conversationType": "channel", "tenantId": TENANT}
    if not in_channel:
        conversation = {"id": f"a:dm-{user}", "conversationType": "personal", "tenantId": TENANT}
    return {
        "type": "installationUpdate",
        "action": "add",
        "id": f"f:{time.monotonic_ns()}",
        "serviceUrl": service_url,
        "channelId": "msteams",
        "from": {"id": f"29:{user}", "aadObjectId": user},
        "conversation": conversation,
        "recipient": {"id": BOT_ID, "name": "Records"},
        "channelData": {"tenant": {"id": TENANT}},
    }


def post_activity(url: str, activity: dict[str, Any], *, token: str | None = None) -> tuple[int, str, float]:
    """POST an activity to the bot's /api/messages; returns (status, body, seconds taken)."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=json.dumps(activity).encode(), headers=headers, method="POST")
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return response.status, response.read().decode(), time.perf_counter() - started
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(), time.perf_counter() - started


def main() -> None:
    """Serve the fake until killed, printing its URL on the first line (used by benchmarks/teams_turn.py)."""
    serve_until_killed(FakeBotConnector(record=False))


if __name__ == "__main__":
    main()
