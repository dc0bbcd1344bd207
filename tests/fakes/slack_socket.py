"""A fake Socket Mode server: a local WebSocket that sends Slack envelopes and records the app's acks."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

from aiohttp import WSMsgType, web

from tests.fakes.slack_api import FakeSlackAPI, ServerThread


class FakeSocketMode:
    """Hands out its ws:// URL through the fake Web API's apps.connections.open, then speaks Socket Mode.

    with FakeSocketMode(fake_api) as sock: ...; sock.wait_connected(); sock.send("slash_commands", payload)
    """

    def __init__(self, api: FakeSlackAPI) -> None:
        self.api = api
        self.acks: list[dict[str, Any]] = []
        self._sockets: list[web.WebSocketResponse] = []
        app = web.Application()
        app.router.add_get("/link", self._link)
        self._server = ServerThread(app)

    def start(self) -> FakeSocketMode:
        port = self._server.start()
        self.api.socket_url = f"ws://127.0.0.1:{port}/link"
        return self

    def stop(self) -> None:
        async def close_all() -> None:
            for ws in list(self._sockets):
                await ws.close()

        asyncio.run_coroutine_threadsafe(close_all(), self._server.loop).result(5)
        self._server.stop()

    def __enter__(self) -> FakeSocketMode:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def wait_connected(self, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while not self._sockets and time.monotonic() < deadline:
            time.sleep(0.01)
        if not self._sockets:
            raise AssertionError("the app never opened the Socket Mode connection")

    def send(self, envelope_type: str, payload: dict[str, Any], *, retry_attempt: int = 0) -> str:
        """Push one envelope (slash_commands, interactive, events_api) to the connected app; returns its id."""
        envelope_id = str(uuid.uuid4())
        envelope = {
            "envelope_id": envelope_id,
            "type": envelope_type,
            "payload": payload,
            "accepts_response_payload": envelope_type != "events_api",
            "retry_attempt": retry_attempt,
            "retry_reason": "timeout" if retry_attempt else "",
        }

        async def push() -> None:
            await self._sockets[-1].send_str(json.dumps(envelope))

        asyncio.run_coroutine_threadsafe(push(), self._server.loop).result(5)
        return envelope_id

    def wait_ack(self, envelope_id: str, timeout: float = 5.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for ack in list(self.acks):
                if ack.get("envelope_id") == envelope_id:
                    return ack
            time.sleep(0.01)
        raise AssertionError(f"no ack for envelope {envelope_id}; acks seen: {self.acks}")

    async def _link(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        await ws.send_str(json.dumps({"type": "hello", "num_connections": 1, "debug_info": {"host": "fake"}}))
        self._sockets.append(ws)
        async for message in ws:
            if message.type == WSMsgType.TEXT:
                self.acks.append(json.loads(message.data))
        if ws in self._sockets:
            self._sockets.remove(ws)
        return ws
