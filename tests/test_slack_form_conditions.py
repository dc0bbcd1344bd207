"""Slack modals ask a field only once the answer it depends on is chosen (a form field's only_if), over real HTTP."""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import Session, select

from bot.adapters.slack.ids import Action, action_id, block_id
from bot.store import FlowRun, RecordsRequest
from tests.conversation_helpers import INTAKE, Person
from tests.fakes.slack_api import block_action, slash_command, view_action, view_submission
from tests.slack_bot import Bot
from tests.teams_bot import INTAKE as CHAT_INTAKE

# ---- the clinician's side of an open modal ---------------------------------------------------------------------------


def _options(element: dict[str, Any]) -> list[dict[str, Any]]:
    groups = element.get("option_groups") or []
    return list(element.get("options") or []) + [o for g in groups for o in g["options"]]


def _initial(element: dict[str, Any]) -> str | None:
    """What an input shows before anyone touches it, as form text (ticked boxes comma-separated)."""
    if "initial_options" in element:
        return ",".join(o["value"] for o in element["initial_options"])
    return (
        element.get("initial_date")
        or (element.get("initial_option") or {}).get("value")
        or element.get("initial_value")
    )


def _state(element: dict[str, Any], value: str | None) -> dict[str, Any]:
    """An input's entry in view.state.values, as Slack sends it."""
    kind = element["type"]
    if kind == "datepicker":
        return {"type": kind, "selected_date": value}
    if kind in ("static_select", "radio_buttons"):
        return {"type": kind, "selected_option": next((o for o in _options(element) if o["value"] == value), None)}
    if kind in ("checkboxes", "multi_static_select"):
        picked = (value or "").split(",")
        return {"type": kind, "selected_options": [o for o in _options(element) if o["value"] in picked]}
    return {"type": kind, "value": value}


class Modal:
    """A modal the bot opened, as the clinician has it: the view Slack shows now and what they chose or typed.

    Slack keeps what was typed into an input across views.update when its block_id and action_id stay the same.
    """

    def __init__(self, bot: Bot, view_id: str) -> None:
        self.bot, self.id = bot, view_id
        self.typed: dict[str, str] = {}

    @classmethod
    def opened(cls, bot: Bot) -> Modal:
        return cls(bot, bot.fake.calls_to("views.open")[-1].response["view"]["id"])  # type: ignore[index]

    @property
    def view(self) -> dict[str, Any]:
        return self.bot.fake.views[self.id]

    @property
    def fields(self) -> list[str]:
        return [b["block_id"] for b in self.view["blocks"] if b["type"] == "input"]

    def block(self, name: str) -> dict[str, Any]:
        return next(b for b in self.view["blocks"] if b.get("block_id") == name)

    def state(self) -> dict[str, dict[str, Any]]:
        values = {}
        for block in self.view["blocks"]:
            if block["type"] == "input":
                element, name = block["element"], block["block_id"]
                values[name] = {element["action_id"]: _state(element, self.typed.get(name, _initial(element)))}
        return values

    def fill(self, **typed: str) -> None:
        """Typing and choosing in inputs nobody listens to: Slack keeps it until Submit."""
        assert set(typed) <= set(self.fields), f"not in the modal: {set(typed) - set(self.fields)}"
        self.typed.update(typed)

    def choose(self, name: str, value: str, **kw: Any) -> tuple[int, float]:
        """Choose in an input; one others depend on tells the bot at once (dispatch_action)."""
        self.fill(**{name: value})
        block = self.block(name)
        if not block.get("dispatch_action"):
            return 0, 0.0
        body = view_action(self.view, block_id=name, action_id=block["element"]["action_id"], values=self.state(), **kw)
        status, _, seconds = self.bot.send(body)
        self.bot.settle()
        return status, seconds

    def submit(self, view: dict[str, Any] | None = None) -> tuple[int, str]:
        shown = view or self.view
        body = view_submission(
            values=self.state(),
            private_metadata=shown["private_metadata"],
            view_id=shown["id"],
            view_hash=shown["hash"],
        )
        status, text, _ = self.bot.send(body)
        self.bot.settle()
        return status, text


def request_row(bot: Bot) -> RecordsRequest:
    with Session(bot.ctx.engine) as session:
        return session.exec(select(RecordsRequest)).one()


def intake_taken(bot: Bot) -> dict[str, Any]:
    """The intake answers as the run keeps them (what the fee and the letters are worked out from)."""
    with Session(bot.ctx.engine) as session:
        return dict(session.exec(select(FlowRun)).one().answers["intake"])


# the intake as typed into the modal; each test makes the choice it is about (the kind of access)
INTAKE_TYPED = {k: v for k, v in CHAT_INTAKE.items() if k not in ("access_type", "language")}


# ---- the intake: the summary's advance agreement ---------------------------------------------------------------------


def test_the_summary_agreement_appears_only_once_a_summary_is_chosen_and_what_was_typed_stays(bot: Bot):
    bot.send(slash_command(trigger_id="trig.summary"))
    bot.settle()
    modal = Modal.opened(bot)
    assert "access_type" in modal.fields and "summary_agreed" not in modal.fields  # nothing chosen yet
    assert modal.block("access_type")["dispatch_action"] is True
    assert not modal.block("client_label").get("dispatch_action")

    modal.fill(**INTAKE_TYPED)
    status, seconds = modal.choose("access_type", "copy")
    assert status == 200 and seconds < 1.0  # acked at once; the modal is reworked after the ack
    assert bot.fake.calls_to("views.update") == [], "a copy asks nothing more: the modal stays as it is"

    hash_before = modal.view["hash"]
    modal.choose("access_type", "summary")
    update = bot.fake.wait_for("views.update")[-1]
    assert update.ok and update.args["view_id"] == modal.id and update.args["hash"] == hash_before
    assert modal.fields.index("summary_agreed") > modal.fields.index("access_type")
    # what the clinician had typed is kept, as each input's initial value
    assert modal.block("client_label")["element"]["initial_value"] == "JQ-17"
    assert modal.block("received_on")["element"]["initial_date"] == "2026-03-01"
    assert modal.block("access_type")["element"]["initial_option"]["value"] == "summary"
    assert modal.block("scope")["element"]["initial_value"] == "all records"
    assert modal.block("summary_agreed")["element"]["initial_option"]["value"] == "no"  # its default
    assert modal.view["private_metadata"] == bot.fake.calls_to("views.open")[-1].args["view"]["private_metadata"]
    assert modal.view["blocks"][0] == bot.fake.calls_to("views.open")[-1].args["view"]["blocks"][0]  # orientation

    modal.choose("summary_agreed", "yes")
    assert len(bot.fake.calls_to("views.update")) == 1  # an answer nothing depends on stays in the modal
    status, text = modal.submit()
    assert status == 200 and text == ""
    assert request_row(bot).access_type == "summary" and intake_taken(bot)["summary_agreed"] == "yes"


def test_choosing_a_copy_again_takes_the_summary_agreement_away(bot: Bot):
    bot.send(slash_command(trigger_id="trig.back"))
    bot.settle()
    modal = Modal.opened(bot)
    modal.fill(**INTAKE_TYPED)
    modal.choose("access_type", "summary")
    modal.choose("summary_agreed", "yes")
    modal.choose("access_type", "inspect")
    assert "summary_agreed" not in modal.fields
    assert len(bot.fake.calls_to("views.update")) == 2
    status, text = modal.submit()
    assert status == 200 and text == ""
    assert request_row(bot).access_type == "inspect" and intake_taken(bot)["summary_agreed"] == "no"


def test_a_stale_modal_still_carrying_the_summary_agreement_for_a_copy_is_taken_without_it(bot: Bot):
    bot.send(slash_command(trigger_id="trig.stale"))
    bot.settle()
    modal = Modal.opened(bot)
    modal.fill(**INTAKE_TYPED)
    modal.choose("access_type", "summary")
    shown_with_agreement = dict(modal.view)
    modal.fill(summary_agreed="yes")
    # the clinician's Slack sends the form as it was before their switch to a copy reached the modal
    modal.typed["access_type"] = "copy"
    status, text = modal.submit(shown_with_agreement)
    assert status == 200 and text == ""
    assert request_row(bot).access_type == "copy"
    assert intake_taken(bot)["summary_agreed"] == "no"  # no summary fee on a copy because a hidden field said "yes"


def test_two_quick_changes_are_shown_in_the_order_they_were_made(bot: Bot):
    bot.send(slash_command(trigger_id="trig.quick"))
    bot.settle()
    modal = Modal.opened(bot)
    first_hash = modal.view["hash"]
    modal.choose("access_type", "summary", action_ts="1700000001.000001")
    assert "summary_agreed" in modal.fields
    # the switch back to a copy was made on the modal before the summary's update reached the clinician's Slack
    modal.choose("access_type", "copy", view_hash=first_hash, action_ts="1700000002.000001")
    assert "summary_agreed" not in modal.fields
    # a late delivery of an older change never goes on top of a newer one
    modal.choose("access_type", "summary", view_hash=first_hash, action_ts="1700000000.500000")
    assert "summary_agreed" not in modal.fields
    assert [c.ok for c in bot.fake.calls_to("views.update")] == [True, True]


def test_a_change_reported_on_the_view_before_our_update_still_reshapes_what_our_update_shows(bot: Bot):
    bot.send(slash_command(trigger_id="trig.race"))
    bot.settle()
    modal = Modal.opened(bot)
    as_first_shown = json.loads(json.dumps(modal.view))  # blocks and hash h0, as the clinician's Slack still has them
    modal.choose("access_type", "summary", action_ts="1700000001.000001")
    assert "summary_agreed" in modal.fields  # our update (h1) is on its way to the clinician

    def chosen_on_the_first_view(access: str, at: str) -> None:
        """Slack reports a change with the blocks and hash of the view the clinician still has (h0)."""
        modal.fill(access_type=access)
        action = modal.block("access_type")["element"]["action_id"]
        bot.send(
            view_action(as_first_shown, block_id="access_type", action_id=action, values=modal.state(), action_ts=at)
        )
        bot.settle()

    chosen_on_the_first_view("copy", "1700000002.000001")  # before h1 lands they switch back to a copy
    assert "summary_agreed" not in modal.fields, "h1 showed the agreement: the copy takes it away again"
    chosen_on_the_first_view("summary", "1700000003.000001")  # a third change on h0 lands on what is shown now
    assert "summary_agreed" in modal.fields
    assert [c.ok for c in bot.fake.calls_to("views.update")] == [True, True, True]


def test_a_modal_changed_elsewhere_is_not_overwritten(bot: Bot):
    bot.send(slash_command(trigger_id="trig.elsewhere"))
    bot.settle()
    modal = Modal.opened(bot)
    status, _ = modal.choose("access_type", "summary", view_hash="h-someone-else-saw")
    assert status == 200
    refused = bot.fake.calls_to("views.update")
    assert len(refused) == 1 and refused[0].response == {"ok": False, "error": "hash_conflict"}
    assert "summary_agreed" not in modal.fields


# ---- the denial: a reviewing official, and an outside reviewer's name ----------------------------------------------


def walk_to_denial(bot: Bot) -> str:
    """Casey's request goes through to a denial (driven in the core); returns the denial form's ref."""
    casey = Person(bot.adapter.conversation, "Casey Clinician")
    casey.types("/records-request")
    casey.answers({**INTAKE, "received_on": "2026-03-01"})
    casey.answers("sent_today")
    casey.answers("on_track")
    casey.answers("2026-03-20")
    casey.answers(["complete", "signed", "errors_addendum", "psychotherapy_notes", "others_info"])
    casey.answers({"psychotherapy_notes": "none", "errors_found": "no", "others_info": "none", "risk": "yes"})
    casey.answers("none")
    casey.answers("denial")
    assert casey.step == "denial", casey.texts
    return str(casey.question.ref)


def open_form_from_slack(bot: Bot, ref: str) -> Modal:
    """Casey clicks the step's "Open the form" button in their DM with the bot."""
    body = block_action(block_id=block_id(ref), action_id=action_id(Action.open_form), value="open", label="Open")
    status, _, _ = bot.send(body)
    bot.settle()
    assert status == 200
    opened = bot.fake.wait_for("views.open")[-1]
    assert json.loads(opened.args["view"]["private_metadata"])["ref"] == ref
    return Modal.opened(bot)


def test_the_denial_modal_asks_for_a_reviewer_only_for_a_reviewable_ground_and_an_outsider_only_if_chosen(bot: Bot):
    ref = walk_to_denial(bot)
    modal = open_form_from_slack(bot, ref)
    assert "grounds" in modal.fields and modal.block("grounds")["dispatch_action"] is True
    assert "reviewer" not in modal.fields and "outside_reviewer" not in modal.fields

    modal.fill(withheld="Specific safety plan details")
    modal.choose("grounds", "psychotherapy_notes")  # not reviewable: no one to name
    assert "reviewer" not in modal.fields and bot.fake.calls_to("views.update") == []

    modal.choose("grounds", "psychotherapy_notes,endanger_life")
    assert "reviewer" in modal.fields and "outside_reviewer" not in modal.fields
    assert modal.block("reviewer")["dispatch_action"] is True
    assert modal.block("withheld")["element"]["initial_value"] == "Specific safety plan details"
    ticked = [o["value"] for o in modal.block("grounds")["element"]["initial_options"]]
    assert ticked == ["psychotherapy_notes", "endanger_life"]

    modal.choose("reviewer", "Sam Supervisor")  # a member of the practice: no outside name
    assert "outside_reviewer" not in modal.fields
    modal.choose("reviewer", "outside")
    assert modal.fields[-1] == "outside_reviewer"
    assert modal.block("reviewer")["element"]["initial_option"]["value"] == "outside"

    modal.fill(outside_reviewer="Dr. Jane Roe, PsyD (pre-arranged)", grounds="endanger_life")
    status, text = modal.submit()
    assert status == 200 and text == "", text
    assert request_row(bot).denial["reviewer"] == "Dr. Jane Roe, PsyD (pre-arranged)"


def test_a_stale_denial_modal_naming_an_outsider_after_a_member_was_chosen_keeps_the_member(bot: Bot):
    ref = walk_to_denial(bot)
    modal = open_form_from_slack(bot, ref)
    modal.fill(withheld="Specific safety plan details")
    modal.choose("grounds", "endanger_life")
    modal.choose("reviewer", "outside")
    with_outsider = dict(modal.view)
    modal.fill(outside_reviewer="Dr. Jane Roe")
    modal.typed["reviewer"] = "Sam Supervisor"  # changed, but Slack sends the view from before the change landed
    status, text = modal.submit(with_outsider)
    assert status == 200 and text == "", text
    assert request_row(bot).denial["reviewer"] == "Sam Supervisor"
