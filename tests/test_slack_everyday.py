"""Everyday use in Slack: back a step, correct a request later, find and reassign, the practice list: as typed in the DM."""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

from bot.store import AuditEvent, Consult, FlowRun, Member, RecordsRequest, Reminder
from tests.fakes.slack_api import block_action, event_callback, intake_values, slash_command, view_submission
from tests.slack_bot import Bot, open_intake, submit_intake
from tests.test_slack_form_conditions import INTAKE_TYPED, Modal


def says(bot: Bot, channel: str) -> str:
    """Everything the bot posted to one DM so far, as one text (the blocks' words included)."""
    calls = [c for c in bot.fake.delivered("chat.postMessage") if c.args["channel"] == channel]
    return "\n".join(c.args.get("text", "") + json.dumps(c.args.get("blocks") or []) for c in calls)


def last_words(bot: Bot, channel: str) -> str:
    calls = [c for c in bot.fake.delivered("chat.postMessage") if c.args["channel"] == channel]
    assert calls, f"nothing was posted to {channel}"
    return calls[-1].args.get("text", "") + json.dumps(calls[-1].args.get("blocks") or [])


def types_in_dm(bot: Bot, text: str, user: str = "U_CLIN") -> None:
    """A member types in the app's DM (an Events API message.im delivery)."""
    event = {"type": "message", "channel_type": "im", "channel": f"D_{user[2:]}", "user": user, "text": text}
    status, _, _ = bot.send(event_callback(event))
    assert status == 200
    bot.settle()


def uses_command(bot: Bot, text: str, user: str = "U_CLIN") -> str:
    """/records-request <text>; returns what the ack said (empty when the answer follows in the DM)."""
    status, body, _ = bot.send(slash_command(user=user, text=text))
    assert status == 200
    bot.settle()
    return body


def message_at(bot: Bot, ts: str) -> Any:
    """The chat.postMessage call that posted the message Slack gave this ts."""
    return next(c for c in bot.fake.delivered("chat.postMessage") if str(c.response["ts"]) == ts)


def latest_question(bot: Bot, user: str = "U_CLIN") -> tuple[str, dict[str, Any], str]:
    """The latest message in the member's DM that asks something: (its ts, its actions block, its text)."""
    for call in reversed(bot.fake.delivered("chat.postMessage")):
        if call.args["channel"] != f"D_{user[2:]}":
            continue
        for block in call.args.get("blocks") or []:
            if block.get("type") == "actions":
                return str(call.response["ts"]), block, call.args.get("text", "")
    raise AssertionError("no question with buttons reached the DM")


def clicks(bot: Bot, label: str, user: str = "U_CLIN") -> None:
    """Click the button with this label on the latest question in the member's DM."""
    ts, actions, text = latest_question(bot, user)
    button = next(e for e in actions["elements"] if e.get("text", {}).get("text") == label)
    bot.send(
        block_action(
            block_id=actions["block_id"],
            action_id=button["action_id"],
            value=button["value"],
            label=label,
            user=user,
            message_ts=ts,
            message_text=text,
        )
    )
    bot.settle()


def picks_date(bot: Bot, day: str, user: str = "U_CLIN") -> None:
    """Pick a date in the latest question's date picker."""
    ts, actions, text = latest_question(bot, user)
    picker = next(e for e in actions["elements"] if e["type"] == "datepicker")
    bot.send(
        block_action(
            block_id=actions["block_id"],
            action_id=picker["action_id"],
            element="datepicker",
            user=user,
            message_ts=ts,
            message_text=text,
            extra={"selected_date": day},
        )
    )
    bot.settle()


def run_step(bot: Bot) -> str:
    with Session(bot.ctx.engine) as session:
        return session.exec(select(FlowRun).order_by(FlowRun.id.desc())).first().step  # type: ignore[union-attr]


def the_request(bot: Bot) -> RecordsRequest:
    with Session(bot.ctx.engine) as session:
        return session.exec(select(RecordsRequest)).one()


def actions_logged(bot: Bot) -> list[str]:
    with Session(bot.ctx.engine) as session:
        return [e.action for e in session.exec(select(AuditEvent).order_by(AuditEvent.id))]


def new_request(bot: Bot, **intake: str) -> None:
    submit_intake(bot, open_intake(bot), **intake)
    assert run_step(bot) == "acknowledge"


def test_back_typed_in_the_dm_returns_to_the_step_before_with_the_answers_kept(bot: Bot):
    new_request(bot)  # received 2026-03-01: due 2026-03-31
    clicks(bot, "Mark as sent today")
    clicks(bot, "On track: set a target date")
    assert run_step(bot) == "target"
    types_in_dm(bot, "back")
    assert run_step(bot) == "timeframe", "the timeframe question again"
    assert "act by 2026-03-31" in last_words(bot, "D_CLIN")
    clicks(bot, "On track: set a target date")
    picks_date(bot, "2026-03-20")
    assert run_step(bot) == "review"
    assert the_request(bot).acknowledged_on == date(2026, 3, 2), "the acknowledgement answer was kept"
    assert "step.back" in actions_logged(bot)


def test_the_back_button_on_a_step_goes_back_once_however_often_it_is_clicked(bot: Bot):
    new_request(bot)
    clicks(bot, "Mark as sent today")
    clicks(bot, "On track: set a target date")
    assert run_step(bot) == "target"
    ts, _, text = latest_question(bot)
    message = message_at(bot, ts)
    back = next(b for b in message.args["blocks"] if b["type"] == "actions" and b["elements"][0].get("value") == "back")
    click = block_action(
        block_id=back["block_id"],
        action_id=back["elements"][0]["action_id"],
        value="back",
        label="← Back",
        message_ts=ts,
        message_text=text,
    )
    bot.send(click)
    bot.send(click.replace('"action_ts": "', '"action_ts": "9'))  # a second, impatient click on the same message
    bot.settle()
    assert run_step(bot) == "timeframe", "one step back, not two"
    assert actions_logged(bot).count("step.back") == 1
    ticked = [c for c in bot.fake.calls_to("chat.update") if c.args["ts"] == ts]
    assert ticked and "Went back" in json.dumps(ticked[-1].args["blocks"])
    assert "already done" in json.dumps(bot.fake.calls_to("chat.postEphemeral")[-1].args)
    assert "act by 2026-03-31" in last_words(bot, "D_CLIN")


def test_back_at_the_first_step_after_intake_points_to_edit(bot: Bot):
    new_request(bot)
    types_in_dm(bot, "back")
    assert run_step(bot) == "acknowledge"
    assert "edit RR-2026-0001 received" in last_words(bot, "D_CLIN")


def test_edit_corrects_the_received_date_recomputes_the_deadline_and_reminders(bot: Bot):
    new_request(bot)  # received 2026-03-01: due 2026-03-31
    clicks(bot, "Mark as sent today")
    uses_command(bot, "edit RR-2026-0001 received")
    picks_date(bot, "2026-02-25")
    words = last_words(bot, "D_CLIN")
    assert "Corrected RR-2026-0001" in words and "received 2026-02-25 (was 2026-03-01)" in words
    assert "Deadline now 2026-03-27" in words
    request = the_request(bot)
    assert (request.received_on, request.due_on) == (date(2026, 2, 25), date(2026, 3, 27))
    assert run_step(bot) == "timeframe", "and back to where the request stands"
    assert "request.corrected" in actions_logged(bot)
    with Session(bot.ctx.engine) as session:
        keys = [r.dedupe_key for r in session.exec(select(Reminder).where(Reminder.status == "pending"))]
    assert any("2026-03-27" in k for k in keys) and not any("2026-03-31" in k for k in keys)
    # the channel heard only the reference and the new date, never the client's label
    channel = " ".join(
        c.args.get("text", "") for c in bot.fake.delivered("chat.postMessage") if c.args["channel"] == "C_RECORDS"
    )
    assert "JQ-17" not in channel


def test_edit_with_a_word_that_fits_two_options_names_both_and_a_colleague_cannot_edit(bot: Bot):
    new_request(bot)
    types_in_dm(bot, "edit RR-2026-0001 delivery email")
    assert "could mean Encrypted email or Unencrypted email" in last_words(bot, "D_CLIN")
    types_in_dm(bot, "edit RR-2026-0001 received 2026-02-20", user="U_OTHER")
    assert "belongs to a colleague" in says(bot, "D_OTHER")
    assert the_request(bot).received_on == date(2026, 3, 1)


def test_the_supervisor_lists_and_finds_across_the_practice_a_clinician_sees_their_own(bot: Bot):
    new_request(bot)
    modal = open_intake(bot, user="U_OTHER", trigger_id="trig.2")["view"]
    values = intake_values(client_label="CD-2", received_on="2026-02-20")
    bot.send(view_submission(values=values, private_metadata=modal["private_metadata"], user="U_OTHER", view_id="V2"))
    bot.settle()
    types_in_dm(bot, "list", user="U_SUP")
    practice = last_words(bot, "D_SUP")
    assert "Open requests in the practice, soonest deadline first" in practice
    assert practice.index("RR-2026-0002") < practice.index("RR-2026-0001"), "soonest deadline first"
    assert "owner Olive Other" in practice and "owner Casey Clinician" in practice
    types_in_dm(bot, "list")
    mine = last_words(bot, "D_CLIN")
    assert "Your open requests" in mine and "RR-2026-0001" in mine and "RR-2026-0002" not in mine
    types_in_dm(bot, "find cd-2", user="U_SUP")
    assert "RR-2026-0002 · CD-2 · owner Olive Other" in last_words(bot, "D_SUP")
    types_in_dm(bot, "find CD-2")
    assert 'No request you can see matches \\"CD-2\\"' in last_words(bot, "D_CLIN")


def test_an_admin_reassigns_in_slack_and_the_new_owner_is_told_and_gets_the_reminders(bot: Bot):
    new_request(bot)
    types_in_dm(bot, "reassign RR-2026-0001 Olive", user="U_SUP")
    assert "Only a practice admin can reassign" in last_words(bot, "D_SUP")
    types_in_dm(bot, "reassign RR-2026-0001 olive", user="U_ADMIN")
    assert "RR-2026-0001 now belongs to Olive Other (was Casey Clinician)" in last_words(bot, "D_ADMIN")
    told = last_words(bot, "D_OTHER")
    assert "Pat Admin gave you RR-2026-0001" in told and "resume RR-2026-0001" in told
    with Session(bot.ctx.engine) as session:
        olive = session.exec(select(Member).where(Member.name == "Olive Other")).one()
        targets = {r.target for r in session.exec(select(Reminder).where(Reminder.status == "pending"))}
        assert the_request(bot).owner_id == olive.id
    assert "Olive Other" in targets and "Casey Clinician" not in targets
    assert "request.reassigned" in actions_logged(bot)
    types_in_dm(bot, "resume RR-2026-0001", user="U_OTHER")
    assert "Mark as sent today" in last_words(bot, "D_OTHER"), "the new owner carries on from the step it is at"


def ticks(bot: Bot, values: list[str], user: str = "U_CLIN") -> None:
    """Tick these boxes of the latest checklist and click Done (Slack sends the ticks in the message state)."""
    ts, boxes, text = latest_question(bot, user)
    message = message_at(bot, ts)
    done = next(b for b in message.args["blocks"] if b["type"] == "actions" and b["elements"][0].get("value") == "done")
    element = boxes["elements"][0]
    picked = [o for o in element["options"] if o["value"] in values]
    state = {boxes["block_id"]: {element["action_id"]: {"type": element["type"], "selected_options": picked}}}
    bot.send(
        block_action(
            block_id=done["block_id"],
            action_id=done["elements"][0]["action_id"],
            value="done",
            label="Done",
            user=user,
            message_ts=ts,
            message_text=text,
            state=state,
        )
    )
    bot.settle()


def to_review(bot: Bot) -> None:
    new_request(bot)
    clicks(bot, "Mark as sent today")
    clicks(bot, "On track: set a target date")
    picks_date(bot, "2026-03-20")
    assert run_step(bot) == "review"


def test_a_target_date_before_today_is_refused_with_the_reason_and_asked_again(bot: Bot):
    new_request(bot)
    clicks(bot, "Mark as sent today")
    clicks(bot, "On track: set a target date")
    picks_date(bot, "2026-02-27")  # today is 2026-03-02
    assert run_step(bot) == "target"
    assert "can't be before 2026-03-02 (you gave 2026-02-27)" in last_words(bot, "D_CLIN")
    picks_date(bot, "2026-04-02")  # after the deadline
    assert run_step(bot) == "target" and "2026-03-31" in last_words(bot, "D_CLIN")
    picks_date(bot, "2026-03-20")
    assert run_step(bot) == "review"


def test_ticking_part_of_the_checklist_keeps_the_clinician_on_it_saying_what_is_open(bot: Bot):
    to_review(bot)
    ticks(bot, ["complete", "signed"])
    assert run_step(bot) == "review"
    words = last_words(bot, "D_CLIN")
    assert "Still open:" in words and "Errors" in words
    ts, boxes, _ = latest_question(bot)
    ticked = [o["value"] for o in boxes["elements"][0].get("initial_options", [])]
    assert ticked == ["complete", "signed"], "what was ticked stays ticked"
    ticks(bot, ["complete", "signed", "errors_addendum", "psychotherapy_notes", "others_info"])
    assert run_step(bot) == "findings"


def opens_form_and_submits(bot: Bot, **typed: str) -> None:
    """Fill and submit the form modal the last click opened (its trigger opens the next form at once)."""
    modal = Modal.opened(bot)
    modal.fill(**typed)
    status, text = modal.submit()
    assert status == 200 and text == "", text


def test_a_supervisor_answers_a_consult_with_a_note_the_asker_sees_it_and_the_case_keeps_it(bot: Bot):
    to_review(bot)
    ticks(bot, ["complete", "signed", "errors_addendum", "psychotherapy_notes", "others_info"])
    opens_form_and_submits(bot, psychotherapy_notes="none", errors_found="no", others_info="none", risk="no")
    assert run_step(bot) == "consult"
    clicks(bot, "The supervisor")
    ts, select_block, text = latest_question(bot)
    menu = select_block["elements"][0]
    if menu["type"] == "static_select":  # one supervisor may come as a select or straight to the question
        option = next(o for o in menu["options"] if o["value"] == "Sam Supervisor")
        bot.send(
            block_action(
                block_id=select_block["block_id"],
                action_id=menu["action_id"],
                element="static_select",
                message_ts=ts,
                message_text=text,
                extra={"selected_option": option},
            )
        )
        bot.settle()
    assert run_step(bot) == "consult_question"
    ts, _, text = latest_question(bot)
    message = message_at(bot, ts)
    box = next(b for b in message.args["blocks"] if b["type"] == "input")
    bot.send(
        block_action(
            block_id=box["block_id"],
            action_id=box["element"]["action_id"],
            element="plain_text_input",
            message_ts=ts,
            message_text=text,
            extra={"value": "Is a full release fine when the notes mention a former partner?"},
        )
    )
    bot.settle()
    card = last_words(bot, "D_SUP")
    assert "RR-2026-0001" in card and "former partner" in card and "JQ-17" not in card, "no client details"

    ts, buttons, text = latest_question(bot, "U_SUP")
    message = message_at(bot, ts)
    note = next(b for b in message.args["blocks"] if b["type"] == "input")
    helps = next(e for e in buttons["elements"] if e["text"]["text"] == "I can help")
    note_state = {
        note["block_id"]: {
            note["element"]["action_id"]: {"type": "plain_text_input", "value": "Redact her name; release the rest."}
        }
    }
    bot.send(
        block_action(
            block_id=buttons["block_id"],
            action_id=helps["action_id"],
            value=helps["value"],
            label="I can help",
            user="U_SUP",
            channel="D_SUP",
            message_ts=ts,
            message_text=text,
            state=note_state,
        )
    )
    bot.settle()
    told = says(bot, "D_CLIN")
    assert "Redact her name; release the rest." in told, "the asker sees the advice, not only 'I can help'"
    types_in_dm(bot, "status RR-2026-0001")
    assert "Redact her name" in last_words(bot, "D_CLIN"), "the consult's state shows the answer with its note"
    with Session(bot.ctx.engine) as session:
        (consult,) = session.exec(select(Consult)).all()
        assert (consult.status, consult.answer, consult.note) == (
            "answered",
            "can_help",
            "Redact her name; release the rest.",
        )


@pytest.fixture
def practice_without_details(monkeypatch):
    """A practice file with members and the records channel, but no phone, state or privacy contact yet."""
    import tests.slack_bot

    bare = tests.slack_bot.PRACTICE.replace('name = "Test Practice"\njurisdiction = "US"\n', "")
    bare = bare[: bare.index("[privacy_contact]")] + bare[bare.index("[[members]]") :]
    monkeypatch.setattr(tests.slack_bot, "PRACTICE", bare)


def test_a_first_request_in_slack_asks_the_practice_details_once_saves_them_and_goes_on(
    practice_without_details, bot: Bot
):
    bot.send(slash_command(trigger_id="trig.first"))
    bot.settle()
    details = Modal.opened(bot)
    assert {"name", "phone", "jurisdiction", "timezone", "privacy_name"} <= set(details.fields), details.fields
    details.fill(name="Riverbend Counseling", phone="12", jurisdiction="CA", timezone="Pacific")
    details.fill(privacy_name="Privacy Officer")
    status, text = details.submit()
    assert status == 200 and "phone number" in text, "a bad phone number comes back under its field"
    assert len(bot.fake.calls_to("views.open")) == 1
    details.fill(phone="555-0100")
    status, text = details.submit()
    assert status == 200, text
    bot.settle()
    saved = Path(os.environ["PRACTICE_FILE"]).read_text()
    assert 'name = "Riverbend Counseling"' in saved and "555-0100" in saved and "America/Los_Angeles" in saved
    assert "Saved to " in last_words(bot, "D_CLIN") and "Back" not in last_words(bot, "D_CLIN")
    clicks(bot, "Open the form")  # the intake follows in the DM: one click opens it
    intake = Modal.opened(bot)
    assert "client_label" in intake.fields
    intake.fill(**INTAKE_TYPED, access_type="copy")
    status, text = intake.submit()
    assert status == 200 and text == "", text
    assert "please contact Riverbend Counseling at 555-0100" in last_words(bot, "D_CLIN"), "the letter can be drafted"
    bot.send(slash_command(trigger_id="trig.second"))
    bot.settle()
    assert "client_label" in Modal.opened(bot).fields, "the details are not asked again"


def back_buttons(bot: Bot, user: str = "U_CLIN") -> list[Any]:
    ts, _, _ = latest_question(bot, user)
    message = message_at(bot, ts)
    return [b for b in message.args["blocks"] if b["type"] == "actions" and b["elements"][0].get("value") == "back"]


def test_back_is_offered_only_where_it_can_go_back_and_a_redelivered_back_goes_back_once(bot: Bot):
    new_request(bot)
    assert back_buttons(bot) == [], "the request is made: no Back into the intake (edit corrects it)"
    clicks(bot, "Mark as sent today")
    assert back_buttons(bot), "the timeframe can go back to the acknowledgement"
    clicks(bot, "On track: set a target date")
    event = {"type": "message", "channel_type": "im", "channel": "D_CLIN", "user": "U_CLIN", "text": "back"}
    body = event_callback(event)
    bot.send(body)
    bot.send(body, retry_num=1)  # Slack delivers the same event again
    bot.settle()
    assert run_step(bot) == "timeframe", "one step back, not two"
    assert actions_logged(bot).count("step.back") == 1


def test_with_one_day_left_slack_offers_only_what_is_still_possible(bot: Bot):
    submit_intake(bot, open_intake(bot), received_on="2026-02-01")  # 30 days: due tomorrow, 2026-03-03
    clicks(bot, "Mark as sent today")
    words = last_words(bot, "D_CLIN")
    assert "One day left: due tomorrow, 2026-03-03." in words
    _, actions, _ = latest_question(bot)
    labels = [e["text"]["text"] for e in actions["elements"]]
    assert labels == ["Release by the deadline", "Send the one extension notice today"]
    clicks(bot, "Release by the deadline")
    assert run_step(bot) == "review" and the_request(bot).target_on == date(2026, 3, 3)


def test_a_copy_for_someone_else_is_settled_before_the_acknowledgement_in_slack(bot: Bot):
    submit_intake(bot, open_intake(bot), third_party="yes")
    assert run_step(bot) == "direction", "who receives it and the signed document, as the request is taken"
    clicks(bot, "Open the form")
    direction = Modal.opened(bot)
    direction.fill(recipient="Dr. Lee Park", kind="ehr_electronic", on_file="no")
    status, text = direction.submit()
    assert status == 200 and text == "", text
    assert run_step(bot) == "acknowledge"
    assert "we will send it to Dr. Lee Park, the person you named" in last_words(bot, "D_CLIN")
