"""What the bot says survives Slack's failures: each fault injected through the fake Slack, every message once."""

from __future__ import annotations

import json
import time
from collections import Counter
from typing import Any

from sqlmodel import Session, select

from bot.store import OutboxMessage, RecordsRequest
from tests.fakes.slack_api import block_action
from tests.slack_bot import Bot, open_intake, step_message, submit_intake


def dm_steps(bot: Bot, user_channel: str = "D_CLIN") -> list[Any]:
    """Step messages (with buttons) that reached the clinician's DM."""
    return [
        c
        for c in bot.fake.delivered("chat.postMessage")
        if c.args["channel"] == user_channel and any(b.get("type") == "actions" for b in c.args.get("blocks") or [])
    ]


def channel_posts(bot: Bot) -> list[Any]:
    return [c for c in bot.fake.delivered("chat.postMessage") if c.args["channel"] == "C_RECORDS"]


def nothing_left(bot: Bot) -> bool:
    with Session(bot.ctx.engine) as session:
        rows = session.exec(select(OutboxMessage)).all()
    return all(r.status in ("sent", "failed") for r in rows)


def first_button(actions: dict[str, Any], ts: str, text: str) -> str:
    """The clinician clicks the first button of a step message."""
    button = actions["elements"][0]
    return block_action(
        block_id=actions["block_id"],
        action_id=button["action_id"],
        value=button["value"],
        message_ts=ts,
        message_text=text,
    )


def once_each(calls: list[Any]) -> bool:
    """No message delivered twice (same channel, same blocks)."""
    seen = Counter(json.dumps([c.args["channel"], c.args.get("blocks")], sort_keys=True) for c in calls)
    return all(n == 1 for n in seen.values())


def test_a_5xx_on_the_next_step_is_retried_and_it_arrives_once(bot: Bot):
    modal = open_intake(bot)
    bot.fake.fail_next("chat.postMessage", status=500, error="internal_error", where={"channel": "D_CLIN"})
    submit_intake(bot, modal)
    assert len(dm_steps(bot)) == 1, "the clinician gets the next step once it goes through"
    assert len(channel_posts(bot)) == 1
    assert once_each(bot.fake.delivered("chat.postMessage")) and nothing_left(bot)
    told = json.dumps([c.args for c in bot.fake.delivered("chat.postMessage")])
    assert "Saved." in told, "the clinician is told their answer was kept and the step is on its way"


def test_a_429_waits_for_retry_after_then_sends_once(bot: Bot):
    modal = open_intake(bot)
    bot.fake.fail_next("chat.postMessage", status=429, retry_after=1, where={"channel": "C_RECORDS"})
    submit_intake(bot, modal)
    tries = bot.fake.calls_to("chat.postMessage")
    to_channel = [c for c in tries if c.args["channel"] == "C_RECORDS"]
    assert len(to_channel) == 2 and to_channel[1].at - to_channel[0].at >= 1.0, "Retry-After is honoured"
    assert len(channel_posts(bot)) == 1 and len(dm_steps(bot)) == 1, "the DM did not wait behind the channel"
    assert dm_steps(bot)[0].at < to_channel[1].at


def test_a_timeout_is_retried(bot: Bot):
    modal = open_intake(bot)
    bot.fake.fail_next("chat.postMessage", status=500, delay=1.5, where={"channel": "C_RECORDS"})
    submit_intake(bot, modal)
    assert len(channel_posts(bot)) == 1 and len(dm_steps(bot)) == 1 and nothing_left(bot)


def test_an_error_page_instead_of_json_is_retried(bot: Bot):
    modal = open_intake(bot)
    bot.fake.fail_next(
        "chat.postMessage", status=502, text_body="<html>502 Bad Gateway</html>", where={"channel": "D_CLIN"}
    )
    submit_intake(bot, modal)
    assert len(dm_steps(bot)) == 1 and once_each(bot.fake.delivered("chat.postMessage"))


def test_ok_false_with_a_passing_error_is_retried(bot: Bot):
    modal = open_intake(bot)
    bot.fake.fail_next("chat.postMessage", error="fatal_error", where={"channel": "C_RECORDS"})
    submit_intake(bot, modal)
    assert len(channel_posts(bot)) == 1


def test_a_records_channel_that_does_not_exist_is_told_to_the_requester_and_the_admins(bot: Bot):
    modal = open_intake(bot)
    bot.fake.fail_next("chat.postMessage", error="channel_not_found", where={"channel": "C_RECORDS"})
    submit_intake(bot, modal)
    assert channel_posts(bot) == []
    to_clinician = json.dumps([c.args for c in bot.fake.delivered("chat.postMessage") if c.args["channel"] == "D_CLIN"])
    assert "could not post to the records channel" in to_clinician and "channel_not_found" in to_clinician
    with Session(bot.ctx.engine) as session:
        failed = session.exec(select(OutboxMessage).where(OutboxMessage.status == "failed")).all()
    assert [r.purpose for r in failed] == ["channel"]


def test_the_tick_failing_does_not_hold_up_the_next_step_and_is_retried(bot: Bot):
    submit_intake(bot, open_intake(bot))
    ts, actions, text = step_message(bot)
    before = len(dm_steps(bot))
    bot.fake.fail_next("chat.update", status=503, error="service_unavailable")
    bot.send(first_button(actions, ts, text))
    bot.settle()
    assert len(dm_steps(bot)) == before + 1, "the next step arrived"
    ticks = bot.fake.delivered("chat.update")
    assert len(ticks) == 1 and ticks[0].args["ts"] == ts
    assert "white_check_mark" in json.dumps(ticks[0].args["blocks"])


def test_a_double_click_while_slack_is_failing_still_moves_once_and_says_it_once(bot: Bot):
    submit_intake(bot, open_intake(bot))
    ts, actions, text = step_message(bot)
    before = len(dm_steps(bot))
    bot.fake.fail_next("chat.postMessage", status=500, times=3, where={"channel": "D_CLIN"})
    click = first_button(actions, ts, text)
    bot.send(click)
    bot.send(click)
    bot.settle()
    assert len(dm_steps(bot)) == before + 1 and nothing_left(bot)


def test_messages_queued_by_one_process_are_sent_by_another(bot: Bot):
    """Several serve processes share the outbox: a row written here is claimed once, by whoever is free."""
    from datetime import timedelta

    from bot.delivery import outbox
    from bot.store import utcnow

    # due an hour from now, claimed "then": this process's own sender (polling every second) never races for them
    later = utcnow() + timedelta(hours=1)
    with Session(bot.ctx.engine) as session:
        for n in range(20):  # on a platform this test's own server doesn't send, so only the two "hosts" claim
            outbox.enqueue(
                session,
                platform="elsewhere",
                destination_kind="channel",
                destination=f"C_{n}",
                purpose="channel",
                extra={"n": n},
                due_at=later,
            )
        session.commit()
    claimed_elsewhere = outbox.claim_due(bot.ctx.engine, worker="other-host:1", limit=5, now=later)
    assert len(claimed_elsewhere) == 5
    again = outbox.claim_due(bot.ctx.engine, worker="third-host:1", limit=50, now=later)
    assert {r.id for r in again}.isdisjoint({r.id for r in claimed_elsewhere}), "a row is claimed by one sender"
    assert len(again) == 15
    for row in [*claimed_elsewhere, *again]:  # those "other hosts" send them: nothing left for this one
        outbox.mark_sent(bot.ctx.engine, row, row.claimed_by or "", {})


def test_a_request_is_kept_when_slack_is_down_for_everything(bot: Bot):
    modal = open_intake(bot)
    bot.fake.fail_next("chat.postMessage", status=503, times=4)
    bot.fake.fail_next("conversations.open", status=503, times=2)
    started = time.monotonic()
    submit_intake(bot, modal)
    with Session(bot.ctx.engine) as session:
        assert len(session.exec(select(RecordsRequest)).all()) == 1
    assert len(dm_steps(bot)) == 1 and len(channel_posts(bot)) == 1 and nothing_left(bot)
    assert time.monotonic() - started < 15


def test_two_senders_on_one_database_send_each_message_once(tmp_path, any_db_url):
    """Two `serve` processes' senders racing over one outbox (SQLite file or PostgreSQL): each row goes out once."""
    import asyncio
    import threading

    from bot.config import PracticeSettings
    from bot.db import open_database
    from bot.delivery import outbox
    from bot.delivery.routing import Router
    from bot.delivery.sender import OutboxSender

    engine = open_database(any_db_url, auto_upgrade=True)
    with Session(engine) as session:
        for n in range(120):
            outbox.enqueue(
                session,
                platform="slack",
                destination_kind="channel",
                destination=f"C{n % 15}",
                purpose="channel",
                extra={"n": n},
            )
        session.commit()

    sent: list[int] = []
    lock = threading.Lock()

    class Recording:
        platform = "slack"

        async def send(self, row: OutboxMessage) -> dict[str, Any]:
            await asyncio.sleep(0.002)
            with lock:
                sent.append(row.payload["n"])
            return {}

    router = Router(PracticeSettings(), ("slack",))

    def run(worker: str) -> None:
        sender = OutboxSender(engine, router, {"slack": Recording()}, worker=worker)
        asyncio.run(sender.drain(timeout=30))

    threads = [threading.Thread(target=run, args=(f"host-{n}:{n}",)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(sent) == list(range(120)), "every message once, none twice"
    engine.dispose()


def test_a_retried_message_keeps_its_place_before_later_ones_to_the_same_person(tmp_path, any_db_url):
    """Step 1 fails once (Slack 5xx, or a 429 waiting Retry-After): steps 2 and 3 wait behind it, whoever sends."""
    import asyncio

    from bot.config import PracticeSettings
    from bot.db import open_database
    from bot.delivery import outbox
    from bot.delivery.routing import Router
    from bot.delivery.sender import DeliveryFailed, OutboxSender

    engine = open_database(any_db_url, auto_upgrade=True)
    with Session(engine) as session:
        for n in (1, 2, 3):
            outbox.enqueue(
                session, platform="slack", destination_kind="member", destination="U1", purpose="step", extra={"n": n}
            )
        outbox.enqueue(
            session, platform="slack", destination_kind="member", destination="U2", purpose="step", extra={"n": 9}
        )
        session.commit()
    delivered: list[int] = []
    failed_once: set[int] = set()

    class FlakyFirst:
        platform = "slack"

        async def send(self, row: OutboxMessage) -> dict[str, Any]:
            n = row.payload["n"]
            if n == 1 and n not in failed_once:
                failed_once.add(n)
                raise DeliveryFailed("ratelimited", retry_after=0.3)
            delivered.append(n)
            return {}

    router = Router(PracticeSettings(), ("slack",))
    first = OutboxSender(engine, router, {"slack": FlakyFirst()}, worker="a:1")
    second = OutboxSender(engine, router, {"slack": FlakyFirst()}, worker="b:2")

    async def both() -> None:
        await first.send_due()
        await second.send_due()  # another process: it must not jump ahead of the retry either
        await first.drain(timeout=10)

    asyncio.run(both())
    assert delivered.index(9) < delivered.index(2), "another person's message did not wait"
    assert [n for n in delivered if n != 9] == [1, 2, 3]
    engine.dispose()


def test_a_tick_that_can_never_be_shown_is_given_up_without_a_notice(bot: Bot):
    submit_intake(bot, open_intake(bot))
    ts, actions, text = step_message(bot)
    bot.fake.fail_next("chat.update", error="message_not_found")
    bot.send(first_button(actions, ts, text))
    bot.settle()
    with Session(bot.ctx.engine) as session:
        ticks = session.exec(select(OutboxMessage).where(OutboxMessage.purpose == "update")).all()
        notices = session.exec(select(OutboxMessage).where(OutboxMessage.purpose == "problem")).all()
    assert [t.status for t in ticks] == ["failed"] and notices == []
    assert nothing_left(bot)


def test_a_step_slack_posted_but_answered_too_late_for_is_not_posted_twice(bot: Bot):
    modal = open_intake(bot)
    # Slack posts the step but its answer comes after the client's 1 s timeout: the bot can't know it worked
    bot.fake.fail_next("chat.postMessage", status=200, delay=1.5, where={"channel": "D_CLIN"})
    submit_intake(bot, modal)
    assert len(dm_steps(bot)) == 1, "the retry found the step already in the DM by its metadata"
    assert bot.fake.calls_to("conversations.history"), "it looked before posting again"
    assert nothing_left(bot)
