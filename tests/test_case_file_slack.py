"""The case file from chat, in Slack: a button on the final message and on App Home sends it as a file to the DM.

Every step is a signed request to the real endpoint; the file goes through the fake Slack's upload endpoints.
"""

from __future__ import annotations

import json
from typing import Any

from cryptography.fernet import Fernet
from sqlmodel import Session, select

from bot.adapters.slack.ids import Action, action_id, block_id
from bot.config import load_env
from bot.services.secrets import encrypt_contact
from bot.store import AuditEvent, FlowRun, OutboxMessage, RecordsRequest
from tests.fakes.slack_api import (
    block_action,
    event_callback,
    home_action,
    intake_values,
    slash_command,
    view_submission,
)
from tests.slack_bot import Bot, call_ts, open_intake, submit_intake

ALL_REVIEW = ["complete", "signed", "errors_addendum", "psychotherapy_notes", "others_info"]
NOTHING_FOUND = {"psychotherapy_notes": "none", "errors_found": "no", "others_info": "none", "risk": "no"}
RELEASE = {"released_on": "2026-03-02", "method": "portal", "included": "Progress notes", "fee": "6.50"}
CONTACT = {"name": "Jordan Quill", "email": "jordan@example.org", "address": "12 Elm Street"}


# ---- a clinician working in Slack --------------------------------------------------------------------------------


def current_ref(bot: Bot) -> str:
    with Session(bot.ctx.engine) as session:
        run = session.exec(select(FlowRun).where(FlowRun.status == "active").order_by(FlowRun.id.desc())).first()
        assert run is not None, "no request is waiting on an answer"
        return f"run:{run.id}:{run.step}:{run.version}"


def answers(bot: Bot, value: Any, user: str = "U_CLIN") -> None:
    """The clinician answers the step their request waits on: a click, a checklist's Done, or a modal's Submit."""
    ref = current_ref(bot)
    answers.count = getattr(answers, "count", 0) + 1
    if isinstance(value, dict):
        values = {name: {name: {"type": "plain_text_input", "value": v}} for name, v in value.items()}
        metadata = json.dumps({"ref": ref})
        body = view_submission(values=values, private_metadata=metadata, user=user, view_hash=f"h{answers.count}")
    elif isinstance(value, list):
        ticked = [{"value": v, "text": {"type": "plain_text", "text": v}} for v in value]
        state = {block_id(ref): {action_id(Action.check): {"type": "checkboxes", "selected_options": ticked}}}
        body = block_action(block_id=block_id(ref, 1), action_id=action_id(Action.done), value="done", state=state)
    else:
        body = block_action(block_id=block_id(ref), action_id=action_id(Action.choose), value=value, label=value)
    status, text, _ = bot.send(body)
    assert status == 200 and "errors" not in text, text
    bot.settle()


def release_a_request(bot: Bot) -> None:
    """Intake to the release letter sent: the request is answered and waits for its follow-up."""
    submit_intake(bot, open_intake(bot))
    for value in ("sent_today", "on_track", "2026-03-20", ALL_REVIEW, NOTHING_FOUND, "none", "release", RELEASE):
        answers(bot, value)
    answers(bot, "sent")


def case_file_button(bot: Bot, channel: str = "D_CLIN") -> tuple[str, dict[str, Any], str]:
    """The latest message in the DM with a Case file button: (its ts, the button's block_id, the button)."""
    for call in reversed(bot.fake.delivered("chat.postMessage")):
        if call.args["channel"] != channel:
            continue
        for block in call.args.get("blocks") or []:
            if block.get("type") == "actions" and block.get("block_id", "").startswith("casefile:"):
                return call_ts(bot, call), block["block_id"], block["elements"][0]
    raise AssertionError("no message with a Case file button")


def click(bot: Bot, ts: str, where: str, button: dict[str, Any], *, user: str = "U_CLIN", channel: str = "D_CLIN"):
    body = block_action(
        block_id=where,
        action_id=button["action_id"],
        value=button["value"],
        label=button["text"]["text"],
        user=user,
        channel=channel,
        message_ts=ts,
    )
    status, _, _ = bot.send(body)
    assert status == 200
    bot.settle()


def open_home(bot: Bot, user: str) -> dict[str, Any]:
    bot.send(event_callback({"type": "app_home_opened", "user": user, "tab": "home", "channel": "D" + user[1:]}))
    bot.settle()
    view = bot.fake.wait_for("views.publish")[-1].args
    assert view["user_id"] == user
    return view["view"]


def home_text(view: dict[str, Any]) -> str:
    texts = []
    for block in view["blocks"]:
        if isinstance(block.get("text"), dict):
            texts.append(block["text"]["text"])
        texts.extend(e.get("text", "") for e in block.get("elements", []) if block["type"] == "context")
    return "\n".join(texts)


def seal_contact(bot: Bot, key: bytes) -> None:
    """The request keeps the client's contact details, encrypted (taken while the practice kept them in chat)."""
    with Session(bot.ctx.engine) as session:
        request = session.exec(select(RecordsRequest)).one()
        request.client_contact = encrypt_contact(Fernet(key), CONTACT)
        session.add(request)
        session.commit()


# ---- the final message ------------------------------------------------------------------------------------------


def test_the_owner_clicks_case_file_on_the_final_message_and_the_file_lands_in_their_dm(bot: Bot):
    release_a_request(bot)
    seal_contact(bot, Fernet.generate_key())
    ts, where, button = case_file_button(bot)
    assert button["text"]["text"] == "Case file"
    final = json.dumps([c.args for c in bot.fake.delivered("chat.postMessage") if c.args["channel"] == "D_CLIN"])
    assert "records-bot export" not in final, "chat offers the button, not a command to run on the server"

    click(bot, ts, where, button)

    shared = bot.fake.shared_files()
    assert len(shared) == 1
    sent = shared[0]
    assert sent["channel_id"] == "D_CLIN" and sent["name"] == "RR-2026-0001.md" and sent["length_matches"]
    assert sent["title"] == "Case file RR-2026-0001" and "RR-2026-0001" in sent["initial_comment"]
    content = sent["content"]
    assert content.startswith("# Case file RR-2026-0001")
    assert "## Timeline" in content and "Letter sent" in content and "## Delivery" in content
    assert "JQ-17" in content, "the practice's label names the client"
    for detail in CONTACT.values():  # the practice keeps client details out of chat
        assert detail not in content and detail not in json.dumps(sent)
    with Session(bot.ctx.engine) as session:
        events = session.exec(select(AuditEvent).where(AuditEvent.action == "case_file.sent")).all()
        rows = session.exec(select(OutboxMessage).where(OutboxMessage.purpose == "case_file")).all()
    assert [e.actor for e in events] == ["Casey Clinician"] and events[0].after["with_contact"] is False
    assert [r.status for r in rows] == ["sent"]
    assert "Jordan" not in json.dumps(rows[0].payload), "the outbox row names the file; it holds no client details"
    # the button stays: the case file can be asked for again later (a complaint months on)
    assert not [c for c in bot.fake.calls_to("chat.update") if c.args["ts"] == ts]


def test_with_client_details_in_chat_the_case_file_carries_the_decrypted_contact(bot: Bot, monkeypatch):
    key = Fernet.generate_key()
    monkeypatch.setenv("RECORDS_BOT_KEY", key.decode())
    release_a_request(bot)
    seal_contact(bot, key)
    conversation = bot.adapter.conversation
    conversation.practice = conversation.practice.model_copy(update={"phi_in_chat": True})
    conversation.env = load_env()  # the service as started with that key in its environment
    ts, where, button = case_file_button(bot)
    click(bot, ts, where, button)
    content = bot.fake.shared_files("D_CLIN")[0]["content"]
    assert "| Name | Jordan Quill |" in content and "jordan@example.org" in content
    with Session(bot.ctx.engine) as session:
        row = session.exec(select(OutboxMessage).where(OutboxMessage.purpose == "case_file")).one()
    assert "Jordan" not in json.dumps(row.payload), "made when sent: never kept in clear in the outbox"


def test_a_clinician_who_does_not_own_the_request_is_refused(bot: Bot):
    release_a_request(bot)
    ts, where, button = case_file_button(bot)
    click(bot, ts, where, button, user="U_OTHER", channel="D_OTHER")
    assert bot.fake.shared_files() == [] and bot.fake.calls_to("files.getUploadURLExternal") == []
    refusal = bot.fake.wait_for("chat.postEphemeral")[-1].args
    assert refusal["user"] == "U_OTHER" and "goes only to its owner, a supervisor or an admin" in json.dumps(refusal)
    with Session(bot.ctx.engine) as session:
        assert session.exec(select(AuditEvent).where(AuditEvent.action == "case_file.sent")).all() == []


def test_a_cancelled_request_offers_its_case_file_and_a_supervisor_can_ask_for_it_by_name(bot: Bot):
    submit_intake(bot, open_intake(bot))
    bot.send(slash_command(text="cancel RR-2026-0001 client withdrew the request"))
    bot.settle()
    ts, where, button = case_file_button(bot)
    click(bot, ts, where, button)
    assert "RR-2026-0001" in bot.fake.shared_files("D_CLIN")[0]["content"]
    bot.send(slash_command(user="U_SUP", text="casefile rr-2026-0001"))
    bot.settle()
    assert "| Status | cancelled" in bot.fake.shared_files("D_SUP")[0]["content"]


def test_a_5xx_on_completing_the_upload_is_retried_through_the_outbox_and_the_file_arrives_once(bot: Bot):
    release_a_request(bot)
    ts, where, button = case_file_button(bot)
    bot.fake.fail_next("files.completeUploadExternal", status=500, error="internal_error")
    click(bot, ts, where, button)
    assert len(bot.fake.calls_to("files.completeUploadExternal")) == 2, "tried again after the 5xx"
    assert len(bot.fake.shared_files("D_CLIN")) == 1
    with Session(bot.ctx.engine) as session:
        row = session.exec(select(OutboxMessage).where(OutboxMessage.purpose == "case_file")).one()
    assert row.status == "sent" and row.attempts == 2


# ---- App Home -------------------------------------------------------------------------------------------------------


def test_app_home_shows_a_supervisor_the_practice_with_owners_steps_and_the_report_and_a_clinician_their_own(bot: Bot):
    submit_intake(bot, open_intake(bot))  # Casey's: received 2026-03-01, due 2026-03-31
    modal = open_intake(bot, user="U_OTHER", trigger_id="trig.2")
    body = view_submission(
        values=intake_values(client_label="CD-2", received_on="2026-02-10"),
        private_metadata=modal["view"]["private_metadata"],
        user="U_OTHER",
        view_id="V_OTHER",
    )
    bot.send(body)
    bot.settle()

    supervisor = home_text(open_home(bot, "U_SUP"))
    assert "Open requests in the practice, soonest deadline first:" in supervisor
    olive = supervisor.index("RR-2026-0002 · CD-2 · owner Olive Other · step: acknowledge")
    casey = supervisor.index("RR-2026-0001 · JQ-17 · owner Casey Clinician · step: acknowledge")
    assert olive < casey, "soonest deadline first"
    assert "due 2026-03-31 (29 days left)" in supervisor
    assert "This month (2026-03)" in supervisor and "This year (2026)" in supervisor
    assert "Open now: 2 (acknowledge: 2); overdue now: 0" in supervisor

    clinician = home_text(open_home(bot, "U_CLIN"))
    assert "RR-2026-0001 · JQ-17 · step: acknowledge" in clinician
    assert "RR-2026-0002" not in clinician and "CD-2" not in clinician and "owner" not in clinician
    assert "This year" not in clinician


def test_a_supervisor_gets_any_case_file_from_app_home(bot: Bot):
    submit_intake(bot, open_intake(bot))
    view = open_home(bot, "U_SUP")
    picker = next(b for b in view["blocks"] if b.get("block_id", "").startswith("casefile|"))
    element = picker["elements"][0]
    # one request: one button for it (a list of more than five comes as a select menu)
    assert (element["type"], element["value"]) == ("button", "RR-2026-0001")
    bot.send(
        home_action(block_id=picker["block_id"], action_id=element["action_id"], user="U_SUP", value="RR-2026-0001")
    )
    bot.settle()
    shared = bot.fake.shared_files()
    assert [f["channel_id"] for f in shared] == ["D_SUP"] and "# Case file RR-2026-0001" in shared[0]["content"]


def test_a_clinician_gets_their_own_case_file_from_their_row_on_app_home(bot: Bot):
    submit_intake(bot, open_intake(bot))
    view = open_home(bot, "U_CLIN")
    row = next(b for b in view["blocks"] if b.get("block_id", "").startswith("resume:RR-2026-0001"))
    labels = [e["text"]["text"] for e in row["elements"]]
    assert labels == ["Next step", "Case file"]
    button = row["elements"][1]
    bot.send(home_action(block_id=row["block_id"], action_id=button["action_id"], value=button["value"]))
    bot.settle()
    assert [f["channel_id"] for f in bot.fake.shared_files()] == ["D_CLIN"]
