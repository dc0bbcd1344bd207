"""Prompts as Adaptive Cards: what each kind of question looks like, and that every card fits in a Teams message."""

from __future__ import annotations

import json

from bot.adapters.teams import cards
from bot.prompts import Choice, FormField, Prompt


def test_a_draft_too_long_for_teams_is_shortened_and_its_buttons_kept():
    letter = ("A very long paragraph of the letter. " * 60 + "\n\n") * 60  # about 130 KB
    draft = Prompt(
        kind="draft",
        text="Here is the acknowledgement letter.",
        ref="run:1:acknowledge:2",
        body=letter,
        choices=(Choice("sent_today", "Sent today"), Choice("later", "Not yet")),
    )
    card = cards.render_step([draft])
    assert len(json.dumps(card, ensure_ascii=False).encode()) <= cards.CARD_BYTES
    assert "records-bot export" in json.dumps(card)
    submits = [a for b in card["body"] if b["type"] == "ActionSet" for a in b["actions"]]
    assert [a["data"]["rr_value"] for a in submits] == ["sent_today", "later"]


def test_many_choices_become_a_drop_down_and_a_checklist_ticks_several():
    many = tuple(Choice(f"v{n}", f"Choice {n}") for n in range(8))
    card = cards.render_step([Prompt(kind="choice", text="Which?", ref="run:1:x:0", choices=many)])
    picker = next(b for b in card["body"] if b["type"] == "Input.ChoiceSet")
    assert picker["id"] == cards.INPUT and picker["style"] == "compact" and not picker["isMultiSelect"]
    ticks = cards.render_step([Prompt(kind="checklist", text="Done?", ref="run:1:y:0", choices=many[:3])])
    boxes = next(b for b in ticks["body"] if b["type"] == "Input.ChoiceSet")
    assert boxes["isMultiSelect"] and boxes["style"] == "expanded"


def test_a_form_comes_back_with_what_was_typed_and_the_reason_under_the_wrong_field():
    form = Prompt(
        kind="form",
        text="Intake",
        ref="run:1:intake:0",
        fields=(FormField("client_label", "Client label"), FormField("received_on", "Received", kind="date")),
    )
    card = cards.render_form_again(
        form, {"client_label": "JQ-17", "received_on": "2099-01-01"}, {"received_on": "in the future"}
    )
    body = card["body"]
    label = next(b for b in body if b.get("id") == "client_label")
    date = next(i for i, b in enumerate(body) if b.get("id") == "received_on")
    assert label["value"] == "JQ-17" and body[date]["value"] == "2099-01-01"
    assert "in the future" in body[date + 1]["text"] and body[date + 1]["color"] == "Attention"


def test_many_long_notes_together_still_fit_in_one_message():
    notes = [Prompt(kind="notice", text="Note. " * 3000) for _ in range(6)]  # 6 x 18 KB
    card = cards.render_cards(notes)
    assert len(json.dumps(card, ensure_ascii=False).encode()) <= cards.CARD_BYTES


def test_a_drop_down_answer_reads_back_with_its_label():
    many = tuple(Choice(f"v{n}", f"Choice {n}") for n in range(8))
    card = cards.render_step([Prompt(kind="choice", text="Which?", ref="run:1:x:0", choices=many)])
    send = next(a for b in card["body"] if b["type"] == "ActionSet" for a in b["actions"])
    ref, value, label, question = cards.read_submit(send["data"] | {cards.INPUT: "v3"})
    assert (ref, value, label, question) == ("run:1:x:0", "v3", "Choice 3", "Which?")
