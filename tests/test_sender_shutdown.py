"""The running sender stops when it is cancelled, even when it was woken at the same moment (shutdown after a kick)."""

from __future__ import annotations

import asyncio

from bot.config import PracticeSettings
from bot.delivery.routing import Router
from bot.delivery.sender import OutboxSender


def test_a_cancel_that_lands_with_a_kick_still_stops_the_sender(engine):
    async def main() -> None:
        sender = OutboxSender(engine, Router(PracticeSettings(), ("slack",)), {}, worker="t:1", poll_interval=3600)
        task = asyncio.create_task(sender.run_forever())
        for _ in range(50):  # idle: waiting to be woken (or for its hour-long poll)
            await asyncio.sleep(0.01)
        sender.kick()  # the wake-up and the cancel are both pending when the task next runs
        task.cancel()
        done, _ = await asyncio.wait([task], timeout=5)
        assert done, "the sender kept running after it was cancelled (server clean-up would wait on it forever)"
        assert task.cancelled()

    asyncio.run(main())
