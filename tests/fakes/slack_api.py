"""A fake Slack Web API on 127.0.0.1 (random port) that records every call; run as a module for benchmarks."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

from aiohttp import web

TEAM_ID = "T_TEST"
BOT_USER_ID = "U_BOT"


@dataclass
class Call:
    """One request the fake received: the method name and its arguments, JSON-decoded where Slack sends JSON."""

    method: str
    args: dict[str, Any]
    token: str | None
    at: float = field(default_factory=time.monotonic)
    response: dict[str, Any] | None = None  # what the fake answered, when it answered ok

    @property
    def ok(self) -> bool:
        return bool(self.response and self.response.get("ok"))


@dataclass
class _Failure:
    status: int
    error: str | None
    retry_after: int | None
    times: int
    delay: float = 0.0  # answer only after this long (longer than the client's timeout: a timeout)
    text_body: str | None = None  # answer with this text instead of JSON (a proxy's error page)
    where: dict[str, Any] | None = None  # only calls whose arguments include these

    def matches(self, args: dict[str, Any]) -> bool:
        return all(args.get(k) == v for k, v in (self.where or {}).items())


class ServerThread:
    """Runs an aiohttp application on its own event loop in a daemon thread."""

    def __init__(self, app: web.Application, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app, self.host, self.port = app, host, port
        self.loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def start(self) -> int:
        self._thread.start()
        return asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(60)  # slow under a loaded CI

    async def _start(self) -> int:
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self.port

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self.loop).result(60)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)


class FakeSlackAPI:
    """Answers the Web API methods the bot uses, like Slack would, and remembers each call.

    fake = FakeSlackAPI().start(); client base_url = fake.url; ...; fake.wait_for("views.open"); fake.stop()
    """

    def __init__(self, *, record: bool = True) -> None:
        self.calls: list[Call] = []
        self.counts: Counter[str] = Counter()
        self.socket_url: str | None = None  # what apps.connections.open hands out
        self.history: dict[str, list[dict[str, Any]]] = {}  # channel -> messages posted there, oldest first
        # what conversations.info/list and users.info know: channels by id; users not listed here all exist
        self.channels: dict[str, dict[str, Any]] = {
            "C_RECORDS": {"id": "C_RECORDS", "name": "records", "is_member": True}
        }
        self.unknown_users: set[str] = set()
        self.views: dict[str, dict[str, Any]] = {}  # view id -> the view as shown now, with its hash
        self.uploads: dict[str, dict[str, Any]] = {}  # file id -> what getUploadURLExternal was told, and the bytes
        self.files: list[dict[str, Any]] = []  # files shared by files.completeUploadExternal, oldest first
        self._file_ids = itertools.count(1)
        self.record = record
        self._failures: dict[str, list[_Failure]] = {}
        self._lock = threading.Lock()
        self._ts = itertools.count(1)
        self._views = itertools.count(1)
        self._server: ServerThread | None = None
        app = web.Application(client_max_size=4 * 1024 * 1024)
        app.router.add_post("/{method}", self._handle)
        app.router.add_get("/{method}", self._handle)  # slack_sdk reads some methods (conversations.history) by GET
        app.router.add_get("/_counts", self._counts)
        app.router.add_post("/_upload/{file_id}", self._upload)  # the upload_url files.getUploadURLExternal hands out
        self.url = ""
        self._app = app

    # ---- lifecycle -------------------------------------------------------------------------------------------------

    def start(self, port: int = 0) -> FakeSlackAPI:
        self._server = ServerThread(self._app, port=port)
        self.url = f"http://127.0.0.1:{self._server.start()}"
        return self

    def stop(self) -> None:
        if self._server:
            self._server.stop()

    def __enter__(self) -> FakeSlackAPI:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # ---- what tests tell it and ask it ----------------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        *,
        status: int = 200,
        error: str | None = None,
        retry_after: int | None = None,
        times: int = 1,
        delay: float = 0.0,
        text_body: str | None = None,
        where: dict[str, Any] | None = None,
    ) -> None:
        """Make the next `times` calls to method fail: status 429 with Retry-After, ok=false with error, a text
        body, or a late answer (delay, e.g. past the client's timeout)."""
        with self._lock:
            failure = _Failure(status, error, retry_after, times, delay, text_body, where)
            self._failures.setdefault(method, []).append(failure)

    def clear_failures(self) -> None:
        with self._lock:
            self._failures.clear()

    def delivered(self, method: str = "chat.postMessage") -> list[Call]:
        """The calls to method that Slack would have carried out (answered ok)."""
        return [c for c in self.calls_to(method) if c.ok]

    def calls_to(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def wait_for(self, method: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        """Wait until method was called at least count times; returns those calls (raises on timeout)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.calls_to(method)
            if len(found) >= count:
                return found
            time.sleep(0.01)
        seen = [c.method for c in self.calls]
        raise AssertionError(f"expected {count} call(s) to {method} within {timeout}s; saw {seen}")

    def settle(self, quiet: float = 0.3, timeout: float = 5.0) -> None:
        """Wait until no call has arrived for `quiet` seconds (background work finished)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                last = self.calls[-1].at if self.calls else 0.0
            if time.monotonic() - last >= quiet:
                return
            time.sleep(0.02)

    def shared_files(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Files completed into a channel: id, channel_id, title, filename, initial_comment, content (text)."""
        with self._lock:
            return [f for f in self.files if channel is None or f["channel_id"] == channel]

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()
            self.counts.clear()

    # ---- the HTTP side --------------------------------------------------------------------------------------------

    async def _counts(self, _request: web.Request) -> web.Response:
        with self._lock:
            return web.json_response(dict(self.counts))

    async def _upload(self, request: web.Request) -> web.Response:
        """The upload step: the file's bytes POSTed to the URL getUploadURLExternal gave (no token, like Slack's)."""
        file_id = request.match_info["file_id"]
        raw = await request.read()
        with self._lock:
            self.counts["upload"] += 1
            started = self.uploads.get(file_id)
            if started is None:
                return web.Response(status=404, text="unknown upload")
            started["data"] = raw
        return web.Response(text=f"OK - {len(raw)}")

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args: dict[str, Any] = dict(request.query)
        raw = await request.read()
        if request.content_type == "application/json" and raw:
            args.update(json.loads(raw))
        elif raw:
            args.update(parse_qsl(raw.decode()))
        for key in ("blocks", "view", "attachments"):
            if isinstance(args.get(key), str) and args[key][:1] in "[{":
                args[key] = json.loads(args[key])
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ") if auth else args.get("token")
        call = Call(method, args, token)
        with self._lock:
            self.counts[method] += 1
            if self.record:
                self.calls.append(call)
            failure = self._take_failure(method, args)
        if failure is not None and failure.status == 200 and failure.error is None and failure.delay:
            # Slack carries it out, but the answer comes too late: the client times out not knowing it worked
            answer = self._answer(method, args)
            call.response = answer
            await asyncio.sleep(failure.delay)
            return web.json_response(answer)
        if failure is not None:
            if failure.delay:
                await asyncio.sleep(failure.delay)
            if failure.text_body is not None:
                return web.Response(text=failure.text_body, status=failure.status, content_type="text/html")
            if failure.status == 429:
                headers = {"Retry-After": str(failure.retry_after or 1)}
                return web.json_response({"ok": False, "error": "ratelimited"}, status=429, headers=headers)
            return web.json_response({"ok": False, "error": failure.error or "internal_error"}, status=failure.status)
        if not token or not token.startswith(("xoxb-", "xapp-")):
            return web.json_response({"ok": False, "error": "not_authed"})
        answer = self._answer(method, args)
        call.response = answer
        return web.json_response(answer)

    def _take_failure(self, method: str, args: dict[str, Any]) -> _Failure | None:
        queue = self._failures.get(method)
        failure = next((f for f in queue or [] if f.matches(args)), None)
        if failure is None:
            return None
        failure.times -= 1
        if failure.times <= 0:
            queue.remove(failure)  # type: ignore[union-attr]
        return failure

    def _new_ts(self) -> str:
        """A message ts like Slack's: the posting time in seconds, made unique (and ordered) by a counter."""
        return f"{int(time.time())}.{next(self._ts):06d}"

    def _answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        ok: dict[str, Any] = {"ok": True}
        if method == "auth.test":
            identity = {"team_id": TEAM_ID, "user_id": BOT_USER_ID, "bot_id": "B_BOT"}
            return ok | {"url": "https://test.slack.com/", "team": "Test", "user": "records"} | identity
        if method == "conversations.history":
            with self._lock:
                posted = [
                    m for m in self.history.get(str(args.get("channel")), []) if m["ts"] > str(args.get("oldest", ""))
                ]
            return ok | {"messages": list(reversed(posted)), "has_more": False}
        if method in ("chat.postMessage", "chat.update"):
            ts = args.get("ts") or self._new_ts()
            message = {"text": args.get("text", ""), "blocks": args.get("blocks", []), "ts": ts}
            metadata = args.get("metadata")
            if isinstance(metadata, str) and metadata[:1] == "{":
                metadata = json.loads(metadata)
            if metadata:
                message["metadata"] = metadata
            if method == "chat.postMessage":
                with self._lock:
                    self.history.setdefault(str(args.get("channel")), []).append(message)
            return ok | {"channel": args.get("channel"), "ts": ts, "message": message}
        if method == "files.getUploadURLExternal":
            file_id = f"F{next(self._file_ids):06d}"
            with self._lock:
                self.uploads[file_id] = {"filename": args.get("filename"), "length": int(args.get("length") or 0)}
            return ok | {"upload_url": f"{self.url}/_upload/{file_id}", "file_id": file_id}
        if method == "files.completeUploadExternal":
            listed = args.get("files")
            listed = json.loads(listed) if isinstance(listed, str) else listed or []
            shared = []
            with self._lock:
                for item in listed:
                    started = self.uploads.get(item.get("id"))
                    if started is None or "data" not in started:
                        return {"ok": False, "error": "file_not_found"}
                    shared.append(
                        {
                            "id": item["id"],
                            "title": item.get("title") or started["filename"],
                            "name": started["filename"],
                            "channel_id": args.get("channel_id"),
                            "initial_comment": args.get("initial_comment"),
                            "content": started["data"].decode("utf-8", "replace"),
                            "length_matches": started["length"] == len(started["data"]),
                        }
                    )
                self.files.extend(shared)
            return ok | {"files": [{"id": f["id"], "title": f["title"], "name": f["name"]} for f in shared]}
        if method == "chat.postEphemeral":
            return ok | {"message_ts": self._new_ts()}
        if method in ("views.open", "views.update", "views.publish", "views.push"):
            view = dict(args.get("view") or {})
            view_id = args.get("view_id") or f"V{next(self._views):06d}"
            with self._lock:
                shown = self.views.get(view_id)
                if method == "views.update":
                    if shown is None:
                        return {"ok": False, "error": "not_found"}
                    if args.get("hash") and args["hash"] != shown["hash"]:
                        return {"ok": False, "error": "hash_conflict"}  # changed since the caller saw it
                shown = view | {"id": view_id, "hash": f"h{time.monotonic_ns()}"}
                self.views[view_id] = shown
            return ok | {"view": shown}
        if method == "conversations.open":
            users = str(args.get("users", "")).split(",")[0]
            return ok | {"channel": {"id": "D" + users.removeprefix("U")}}
        if method == "users.info":
            user = args.get("user", "")
            if user in self.unknown_users:
                return {"ok": False, "error": "user_not_found"}
            return ok | {"user": {"id": user, "team_id": TEAM_ID, "name": user.lower(), "is_bot": False}}
        if method == "conversations.info":
            channel = self.channels.get(args.get("channel", ""))
            return ok | {"channel": channel} if channel else {"ok": False, "error": "channel_not_found"}
        if method == "conversations.list":
            return ok | {"channels": list(self.channels.values()), "response_metadata": {"next_cursor": ""}}
        if method == "apps.connections.open":
            if not self.socket_url:
                return {"ok": False, "error": "socket_mode_not_enabled"}
            return ok | {"url": self.socket_url}
        return {"ok": False, "error": "unknown_method"}


# ---- requests as Slack sends them to the app: signed, form-encoded ----------------------------------------------------


def sign(secret: str, body: str, timestamp: int | None = None) -> dict[str, str]:
    """Slack's v0 signature headers for body: HMAC-SHA256 over "v0:{timestamp}:{body}" with the signing secret."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"v0:{timestamp}:{body}".encode(), hashlib.sha256).hexdigest()
    return {
        "X-Slack-Request-Timestamp": str(timestamp),
        "X-Slack-Signature": f"v0={digest}",
        "Content-Type": "application/json" if body.startswith("{") else "application/x-www-form-urlencoded",
    }


def post_signed(
    url: str, body: str, secret: str, *, timestamp: int | None = None, retry_num: int | None = None
) -> tuple[int, str, float]:
    """POST a signed body to the app; returns (status, response text, seconds taken)."""
    headers = sign(secret, body, timestamp)
    if retry_num is not None:
        headers |= {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"}
    request = urllib.request.Request(url, data=body.encode(), headers=headers, method="POST")
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode(), time.perf_counter() - started
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(), time.perf_counter() - started


def slash_command(
    *,
    user: str = "U_CLIN",
    text: str = "",
    trigger_id: str | None = None,
    team: str = TEAM_ID,
    channel: str = "C_GENERAL",
) -> str:
    """The form body of a /records-request invocation."""
    return urlencode(
        {
            "token": "legacy",
            "team_id": team,
            "team_domain": "test",
            "channel_id": channel,
            "channel_name": "general",
            "user_id": user,
            "user_name": user.lower(),
            "command": "/records-request",
            "text": text,
            "api_app_id": "A_TEST",
            "response_url": "https://hooks.slack.invalid/commands/1",
            "trigger_id": trigger_id or f"trig.{time.monotonic_ns()}",
        }
    )


def _payload(data: dict[str, Any]) -> str:
    return urlencode({"payload": json.dumps(data)})


def _interaction(kind: str, *, user: str, team: str, **rest: Any) -> str:
    """An interactivity payload (block_actions, view_submission): who, in which workspace, then what and where."""
    return _payload(
        {
            "type": kind,
            "team": {"id": team, "domain": "test"},
            "user": {"id": user, "team_id": team, "name": user.lower()},
            "api_app_id": "A_TEST",
            "trigger_id": f"trig.{time.monotonic_ns()}",
            **rest,
        }
    )


def _block_actions(action: dict[str, Any], *, user: str, team: str, **where: Any) -> str:
    """A click or a change: where it happened (container, message or view, state) and the action."""
    return _interaction("block_actions", user=user, team=team, **where, actions=[action])


def block_action(
    *,
    block_id: str,
    action_id: str,
    value: str | None = None,
    user: str = "U_CLIN",
    team: str = TEAM_ID,
    channel: str = "D_CLIN",
    message_ts: str = "1700000000.000001",
    message_text: str = "A question",
    action_ts: str | None = None,
    element: str = "button",
    label: str = "Choice",
    state: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> str:
    """The payload body of a click on a button (or another element) in a message in the app's DM."""
    action: dict[str, Any] = {
        "type": element,
        "block_id": block_id,
        "action_id": action_id,
        "action_ts": action_ts or f"{time.time():.6f}",
    }
    if element == "button":
        action |= {"value": value, "text": {"type": "plain_text", "text": label}}
    action |= extra or {}
    return _block_actions(
        action,
        user=user,
        team=team,
        container={"type": "message", "message_ts": message_ts, "channel_id": channel, "is_ephemeral": False},
        channel={"id": channel, "name": "directmessage"},
        message={"type": "message", "ts": message_ts, "text": message_text, "blocks": []},
        state={"values": state or {}},
    )


def view_action(
    view: dict[str, Any],
    *,
    block_id: str,
    action_id: str,
    values: dict[str, dict[str, Any]],
    user: str = "U_CLIN",
    team: str = TEAM_ID,
    view_hash: str | None = None,
    action_ts: str | None = None,
) -> str:
    """The payload body of a change to an input with dispatch_action in an open modal (`view` as Slack shows it):
    values are the view's state {block_id: {action_id: element state}}, the changed element's among them."""
    state = values[block_id][action_id]
    action = {"block_id": block_id, "action_id": action_id, "action_ts": action_ts or f"{time.time():.6f}"} | state
    return _block_actions(
        action,
        user=user,
        team=team,
        container={"type": "view", "view_id": view["id"]},
        view={
            "id": view["id"],
            "hash": view_hash or view["hash"],
            "type": "modal",
            "callback_id": view.get("callback_id"),
            "private_metadata": view.get("private_metadata"),
            "blocks": view.get("blocks") or [],
            "state": {"values": values},
            "team_id": team,
        },
    )


def home_action(
    *,
    block_id: str,
    action_id: str,
    value: str | None = None,
    user: str = "U_CLIN",
    team: str = TEAM_ID,
    view_id: str = "V_HOME",
    action_ts: str | None = None,
    label: str = "Choice",
    selected: str | None = None,
) -> str:
    """The payload body of a click on the App Home tab: a button, or (selected) a pick from a select menu."""
    action: dict[str, Any] = {
        "block_id": block_id,
        "action_id": action_id,
        "action_ts": action_ts or f"{time.time():.6f}",
    }
    if selected is None:
        action |= {"type": "button", "value": value, "text": {"type": "plain_text", "text": label}}
    else:
        option = {"text": {"type": "plain_text", "text": label}, "value": selected}
        action |= {"type": "static_select", "selected_option": option}
    return _block_actions(
        action,
        user=user,
        team=team,
        container={"type": "view", "view_id": view_id},
        view={"id": view_id, "type": "home", "hash": "h1", "state": {"values": {}}},
        state={"values": {}},
    )


def view_submission(
    *,
    values: dict[str, dict[str, Any]],
    private_metadata: str,
    user: str = "U_CLIN",
    team: str = TEAM_ID,
    view_id: str = "V000001",
    view_hash: str = "h1",
    callback_id: str = "rr_form",
) -> str:
    """The payload body of a modal's Submit: values are {block_id: {action_id: element state}}."""
    view = {
        "id": view_id,
        "hash": view_hash,
        "type": "modal",
        "callback_id": callback_id,
        "private_metadata": private_metadata,
        "state": {"values": values},
        "team_id": team,
    }
    return _interaction("view_submission", user=user, team=team, view=view)


def event_callback(event: dict[str, Any], *, team: str = TEAM_ID) -> str:
    """The JSON body of an Events API delivery (App Home opened, a DM)."""
    return json.dumps(
        {
            "type": "event_callback",
            "team_id": team,
            "api_app_id": "A_TEST",
            "event": event,
            "event_id": f"Ev{time.monotonic_ns()}",
            "event_time": int(time.time()),
        }
    )


def intake_values(**overrides: str) -> dict[str, dict[str, Any]]:
    """What Slack sends for a filled-in intake modal."""
    picked = {
        "requester_type": "client",
        "access_type": "copy",
        "therapy_format": "individual",
        "form": "electronic",
        "delivery": "portal",
        "third_party": "no",
        "language": "en",
    } | {k: v for k, v in overrides.items() if k not in ("client_label", "received_on", "scope", "pages")}
    values: dict[str, dict[str, Any]] = {
        name: {name: {"type": "static_select", "selected_option": {"value": value}}} for name, value in picked.items()
    }
    values["client_label"] = {
        "client_label": {"type": "plain_text_input", "value": overrides.get("client_label", "JQ-17")}
    }
    values["received_on"] = {
        "received_on": {"type": "datepicker", "selected_date": overrides.get("received_on", "2026-03-01")}
    }
    values["scope"] = {"scope": {"type": "plain_text_input", "value": "all records"}}
    values["pages"] = {"pages": {"type": "plain_text_input", "value": "12"}}
    return values


def serve_until_killed(fake: Any) -> None:
    """Start a fake on the port given as the first argument (default: any), print its URL, serve until killed."""
    fake.start(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
    print(fake.url, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        fake.stop()


def main() -> None:
    """Serve the fake until killed, printing its URL on the first line (used by benchmarks/slack_ack.py)."""
    serve_until_killed(FakeSlackAPI(record=False))


if __name__ == "__main__":
    main()
