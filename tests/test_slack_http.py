"""Slack over HTTP, end to end: signed requests to the real aiohttp endpoint, a fake Slack Web API on localhost."""

from __future__ import annotations

import json
import time

from sqlmodel import Session, select

from bot.store import FlowRun, InboundKey, RecordsRequest
from tests.fakes.slack_api import (
    block_action,
    event_callback,
    intake_values,
    post_signed,
    slash_command,
    view_submission,
)
from tests.slack_bot import Bot, open_intake, step_message, submit_intake

# ---- signatures ----------------------------------------------------------------------------------------------------


def test_a_forged_signature_gets_401_and_records_nothing(bot: Bot):
    body = slash_command()
    status, _, _ = post_signed(bot.url, body, "not-the-secret")
    bot.settle()
    assert status == 401
    assert bot.count(FlowRun) == 0 and bot.count(InboundKey) == 0
    assert bot.fake.calls_to("views.open") == []


def test_a_stale_timestamp_gets_401(bot: Bot):
    status, _, _ = bot.send(slash_command(), timestamp=int(time.time()) - 6 * 60)
    bot.settle()
    assert status == 401
    assert bot.count(FlowRun) == 0


# ---- /records-request ------------------------------------------------------------------------------------------------


def test_records_request_acks_fast_and_opens_the_intake_modal(bot: Bot):
    status, text, seconds = bot.send(slash_command(trigger_id="trig.abc"))
    assert status == 200 and text == ""
    assert seconds < 1.0
    opened = bot.fake.wait_for("views.open")[0].args
    assert opened["trigger_id"] == "trig.abc"
    view = opened["view"]
    assert view["type"] == "modal" and view["callback_id"] == "rr_form"
    assert json.loads(view["private_metadata"])["ref"].startswith("run:")
    assert {b["block_id"] for b in view["blocks"] if b["type"] == "input"} >= {"client_label", "received_on"}
    assert len(view["title"]["text"]) <= 24


def test_a_retried_slash_command_does_not_start_a_second_request(bot: Bot):
    bot.send(slash_command(trigger_id="trig.same"))
    bot.settle()
    status, _, _ = bot.send(slash_command(trigger_id="trig.same"), retry_num=1)
    bot.settle()
    assert status == 200
    assert bot.count(FlowRun) == 1
    assert len(bot.fake.calls_to("views.open")) == 1


def test_help_is_answered_privately_where_it_was_typed(bot: Bot):
    bot.send(slash_command(text="help", channel="C_GENERAL"))
    bot.settle()
    ephemeral = bot.fake.wait_for("chat.postEphemeral")[0].args
    assert ephemeral["channel"] == "C_GENERAL" and ephemeral["user"] == "U_CLIN"
    assert bot.fake.calls_to("views.open") == []


def test_someone_outside_the_practice_is_refused_politely_on_the_ack(bot: Bot):
    status, text, _ = bot.send(slash_command(user="U_STRANGER"))
    bot.settle()
    assert status == 200 and "only for members of the practice" in text
    assert bot.count(FlowRun) == 0


def test_another_workspace_is_refused(bot: Bot):
    bot.send(slash_command(text="help"))  # first request: the app learns its own workspace from auth.test
    bot.settle()
    status, text, _ = bot.send(slash_command(team="T_ELSEWHERE"))
    bot.settle()
    assert status == 200 and "practice's own Slack workspace" in text
    assert bot.count(FlowRun) == 0


# ---- the intake modal ------------------------------------------------------------------------------------------------


def test_a_received_date_in_the_future_shows_an_error_under_that_field(bot: Bot):
    modal = open_intake(bot)
    status, text = submit_intake(bot, modal, received_on="2026-12-31")
    assert status == 200
    answer = json.loads(text)
    assert answer["response_action"] == "errors"
    assert set(answer["errors"]) == {"received_on"}
    assert bot.count(RecordsRequest) == 0


def test_a_good_intake_creates_the_request_and_posts_a_phi_free_channel_note(bot: Bot):
    modal = open_intake(bot)
    status, text = submit_intake(bot, modal, client_label="JQ-17")
    assert status == 200 and text == ""
    assert bot.count(RecordsRequest) == 1
    channel_posts = [c for c in bot.fake.calls_to("chat.postMessage") if c.args["channel"] == "C_RECORDS"]
    assert len(channel_posts) == 1
    posted = json.dumps(channel_posts[0].args)
    assert "JQ-17" not in posted and "RR-2026-" in posted
    assert "<@U_CLIN>" in posted or "Casey Clinician" in posted
    dms = [c for c in bot.fake.calls_to("chat.postMessage") if c.args["channel"] == "D_CLIN"]
    assert dms, "the conversation continues in the clinician's DM"


def test_a_retried_view_submission_creates_one_request(bot: Bot):
    modal = open_intake(bot)
    body = view_submission(values=intake_values(), private_metadata=modal["view"]["private_metadata"])
    bot.send(body)
    bot.send(body, retry_num=1)
    bot.settle()
    assert bot.count(RecordsRequest) == 1


# ---- steps in the DM -------------------------------------------------------------------------------------------------


def test_a_double_click_advances_the_step_once_and_the_step_is_ticked_in_place(bot: Bot):
    submit_intake(bot, open_intake(bot))
    ts, actions, text = step_message(bot)
    button = actions["elements"][0]
    click = block_action(
        block_id=actions["block_id"],
        action_id=button["action_id"],
        value=button["value"],
        label=button["text"]["text"],
        message_ts=ts,
        message_text=text,
        action_ts="1700000100.000001",
    )
    version_before = _run_version(bot)
    bot.send(click)
    bot.send(click, retry_num=1)  # the same delivery again
    second_click = click.replace("1700000100.000001", "1700000100.000002")  # a real second click
    bot.send(second_click)
    bot.settle()
    assert _run_version(bot) == version_before + 1
    updates = [c for c in bot.fake.calls_to("chat.update") if c.args["ts"] == ts]
    assert len(updates) == 1
    assert ":white_check_mark:" in json.dumps(updates[0].args["blocks"])
    assert bot.fake.calls_to("chat.postEphemeral"), "the late click is told the step is already done"


def test_a_click_from_another_clinician_is_refused_politely(bot: Bot):
    submit_intake(bot, open_intake(bot))
    ts, actions, text = step_message(bot)
    button = actions["elements"][0]
    version_before = _run_version(bot)
    bot.send(
        block_action(
            block_id=actions["block_id"],
            action_id=button["action_id"],
            value=button["value"],
            user="U_OTHER",
            message_ts=ts,
        )
    )
    bot.settle()
    assert _run_version(bot) == version_before
    refusal = bot.fake.wait_for("chat.postEphemeral")[-1].args
    assert refusal["user"] == "U_OTHER" and "belongs to a colleague" in json.dumps(refusal)
    assert not [c for c in bot.fake.calls_to("chat.update") if c.args["ts"] == ts]


def test_a_click_from_outside_the_practice_is_refused(bot: Bot):
    submit_intake(bot, open_intake(bot))
    ts, actions, _ = step_message(bot)
    button = actions["elements"][0]
    bot.send(
        block_action(
            block_id=actions["block_id"],
            action_id=button["action_id"],
            value=button["value"],
            user="U_STRANGER",
            message_ts=ts,
        )
    )
    bot.settle()
    refusal = bot.fake.wait_for("chat.postEphemeral")[-1].args
    assert refusal["user"] == "U_STRANGER" and "only for members" in json.dumps(refusal)


def test_app_home_lists_my_open_requests(bot: Bot):
    submit_intake(bot, open_intake(bot))
    bot.send(event_callback({"type": "app_home_opened", "user": "U_CLIN", "tab": "home", "channel": "D_CLIN"}))
    bot.settle()
    home = bot.fake.wait_for("views.publish")[-1].args
    assert home["user_id"] == "U_CLIN" and home["view"]["type"] == "home"
    assert "RR-2026-" in json.dumps(home["view"]) and len(home["view"]["blocks"]) <= 100


def test_health_check(bot: Bot):
    import urllib.request

    with urllib.request.urlopen(bot.url.replace("/slack/events", "/healthz"), timeout=5) as response:
        assert response.status == 200 and json.loads(response.read())["status"] == "ok"


def _run_version(bot: Bot) -> int:
    with Session(bot.ctx.engine) as session:
        return session.exec(select(FlowRun)).one().version


def test_an_expired_trigger_leaves_an_open_the_form_button_that_works_from_the_database(bot: Bot):
    bot.fake.fail_next("views.open", error="expired_trigger_id")
    bot.send(slash_command(trigger_id="trig.slow"))
    bot.settle()
    ts, actions, _ = step_message(bot)
    button = actions["elements"][0]
    status, _, _ = bot.send(
        block_action(
            block_id=actions["block_id"],
            action_id=button["action_id"],
            value=button.get("value"),
            message_ts=ts,
            label=button["text"]["text"],
        )
    )
    bot.settle()
    assert status == 200
    opened = bot.fake.calls_to("views.open")
    assert len(opened) == 2  # the failed one, then the one the button opened, rebuilt from the stored run
    assert opened[-1].args["view"]["callback_id"] == "rr_form"
    assert "client_label" in json.dumps(opened[-1].args["view"])
