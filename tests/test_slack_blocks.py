"""The Block Kit renderer keeps every message, modal and Home tab inside Slack's limits, whatever the prompt."""

from __future__ import annotations

import json

from bot.adapters.slack import blocks
from bot.adapters.slack.ids import Action, action_of, ref_of
from bot.prompts import Choice, FormField, Prompt, prompt_from_dict, prompt_to_dict

REF = "run:7:review:3"


def all_blocks(messages: list[dict]) -> list[dict]:
    return [b for m in messages for b in m["blocks"]]


def assert_within_limits(messages: list[dict], max_blocks: int = blocks.MESSAGE_BLOCKS) -> None:
    for message in messages:
        assert len(message["blocks"]) <= max_blocks
        assert len(message["text"]) <= blocks.FALLBACK_TEXT
        for block in message["blocks"]:
            if block["type"] == "section":
                assert len(block["text"]["text"]) <= blocks.SECTION_TEXT
            if block["type"] == "actions":
                assert len(block["elements"]) <= blocks.ACTIONS_ELEMENTS
                for element in block["elements"]:
                    assert len(element.get("options", [])) <= blocks.OPTIONS
                    if element["type"] == "button":
                        assert len(element["text"]["text"]) <= blocks.BUTTON_TEXT
            assert len(block.get("block_id", "")) <= 255


def test_a_few_choices_are_buttons_that_carry_the_ref():
    prompt = Prompt(
        kind="choice",
        text="Who asked?",
        ref=REF,
        choices=(Choice("client", "The client"), Choice("rep", "A representative")),
    )
    [message] = blocks.render_message(prompt)
    actions = [b for b in message["blocks"] if b["type"] == "actions"][0]
    assert ref_of(actions["block_id"]) == REF
    assert [e["type"] for e in actions["elements"]] == ["button", "button"]
    assert [action_of(e["action_id"]) for e in actions["elements"]] == [Action.choose, Action.choose]
    assert [e["value"] for e in actions["elements"]] == ["client", "rep"]


def test_sixty_choices_become_one_select_within_limits():
    choices = tuple(Choice(f"v{n}", f"Choice number {n} " + "x" * 80) for n in range(60))
    messages = blocks.render_message(Prompt(kind="choice", text="Pick one", ref=REF, choices=choices))
    assert_within_limits(messages)
    selects = [e for b in all_blocks(messages) if b["type"] == "actions" for e in b["elements"]]
    assert [s["type"] for s in selects] == ["static_select"]
    assert len(selects[0]["options"]) == 60
    assert all(len(o["text"]["text"]) <= blocks.OPTION_TEXT for o in selects[0]["options"])


def test_thousands_of_choices_are_split_across_selects_and_the_rest_is_said():
    choices = tuple(Choice(f"v{n}", f"Choice {n}") for n in range(2600))
    messages = blocks.render_message(Prompt(kind="member", text="Who?", ref=REF, choices=choices))
    assert_within_limits(messages)
    assert "100 more choices" in json.dumps(messages)


def test_a_ten_thousand_character_draft_is_split_into_sections():
    body = ("The practice received your request on March 1, 2026. " * 200)[:10_000]
    prompt = Prompt(
        kind="draft",
        text="Here is the acknowledgement.",
        ref=REF,
        body=body,
        choices=(Choice("sent", "Sent it"), Choice("later", "Later")),
    )
    messages = blocks.render_message(prompt)
    assert_within_limits(messages)
    text_sections = [
        b
        for b in all_blocks(messages)
        if b["type"] == "section" and b["text"]["text"] != "Here is the acknowledgement."
    ]
    assert len(text_sections) >= 4
    assert "".join(s["text"]["text"] for s in text_sections).replace(" ", "") == body.replace(" ", "")
    assert all_blocks(messages)[-1]["type"] == "actions"


def test_a_huge_draft_becomes_several_messages_of_at_most_fifty_blocks():
    body = "word " * 60_000
    messages = blocks.render_message(
        Prompt(kind="draft", text="Long", ref=REF, body=body, choices=(Choice("ok", "OK"),))
    )
    assert len(messages) >= 2
    assert_within_limits(messages)


def test_user_text_cannot_mention_everyone_or_fake_links():
    [message] = blocks.render_message(Prompt(kind="notice", text="<!channel> see <http://evil|here> & **bold**"))
    text = message["blocks"][0]["text"]["text"]
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text and "&amp;" in text and "*bold*" in text


def test_the_notification_text_is_escaped_like_the_blocks():
    sneaky = "<!channel> see <http://evil|here> & more"
    shown = [
        *blocks.render_message(Prompt(kind="notice", text=sneaky)),
        *blocks.render_messages([Prompt(kind="notice", text=sneaky)]),
        blocks.render_done(Prompt(kind="notice", text=sneaky), "yes"),
        blocks.render_header(sneaky),
    ]
    for message in shown:
        assert "<" not in message["text"] and "&lt;!channel&gt;" in message["text"] and "&amp; more" in message["text"]
    [long] = blocks.render_message(Prompt(kind="notice", text="&" * 5000))
    assert len(long["text"]) <= blocks.FALLBACK_TEXT and long["text"].endswith("&amp;…")


def test_checklists_have_boxes_and_a_done_button():
    choices = tuple(Choice(f"c{n}", f"Check {n}") for n in range(5))
    message = blocks.render_message(Prompt(kind="checklist", text="Review", ref=REF, choices=choices))[0]
    types = [e["type"] for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert types == ["checkboxes", "button"]
    many = tuple(Choice(f"c{n}", f"Check {n}") for n in range(12))
    message = blocks.render_message(Prompt(kind="checklist", text="Review", ref=REF, choices=many))[0]
    assert [e["type"] for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]] == [
        "multi_static_select",
        "button",
    ]


def test_dates_text_confirm_and_form_prompts():
    date_blocks = blocks.render_message(Prompt(kind="date", text="When?", ref=REF, default="2026-03-01"))[0]["blocks"]
    assert date_blocks[-1]["elements"][0] == date_blocks[-1]["elements"][0] | {
        "type": "datepicker",
        "initial_date": "2026-03-01",
    }
    text_blocks = blocks.render_message(Prompt(kind="text", text="Why?", ref=REF, max_length=100))[0]["blocks"]
    assert text_blocks[-1]["type"] == "input" and text_blocks[-1]["dispatch_action"] is True
    confirm = blocks.render_message(Prompt(kind="confirm", text="Sure?", ref=REF))[0]["blocks"][-1]
    assert [e["value"] for e in confirm["elements"]] == ["yes", "no"]
    form = blocks.render_message(Prompt(kind="form", text="Intake", ref=REF, fields=(FormField("a", "A"),)))[0][
        "blocks"
    ][-1]
    assert action_of(form["elements"][0]["action_id"]) is Action.open_form


def test_a_modal_keeps_fields_and_stays_within_one_hundred_blocks():
    fields = tuple(
        FormField(
            f"f{n}", f"Field {n}", kind="choice", choices=tuple(Choice(f"v{i}", f"V{i}") for i in range(n % 12 + 1))
        )
        for n in range(60)
    )
    view = blocks.render_modal(Prompt(kind="form", text="x " * 200_000, ref=REF, fields=fields), {"ref": REF})
    assert len(view["blocks"]) <= blocks.VIEW_BLOCKS
    assert [b["block_id"] for b in view["blocks"] if b["type"] == "input"] == [f"f{n}" for n in range(60)]
    assert len(view["title"]["text"]) <= blocks.VIEW_TITLE and json.loads(view["private_metadata"]) == {"ref": REF}


DEPENDENT_FORM = Prompt(
    kind="form",
    text="Denial",
    ref=REF,
    fields=(
        FormField(
            "grounds", "Grounds", "checklist", (Choice("notes", "Notes"), Choice("risk", "Risk")), default="risk"
        ),
        FormField(
            "reviewer",
            "Reviewer",
            "member",
            (Choice("Sam", "Sam"), Choice("outside", "Outside")),
            required=False,
            only_if=("grounds", ("risk", "harm")),
        ),
        FormField("outsider", "Outsider", required=False, only_if=("reviewer", "outside")),
    ),
)


def test_a_modal_shows_a_field_whose_controller_defaults_to_a_matching_answer_from_the_start():
    view = blocks.render_modal(DEPENDENT_FORM, {"ref": REF})
    shown = {b["block_id"]: b for b in view["blocks"] if b["type"] == "input"}
    assert list(shown) == ["grounds", "reviewer"]  # the outsider's name waits for the outside reviewer
    assert shown["grounds"]["dispatch_action"] is True and shown["reviewer"]["dispatch_action"] is True
    assert action_of(shown["grounds"]["element"]["action_id"]) is Action.controls
    chosen = blocks.render_modal(DEPENDENT_FORM, {"ref": REF}, values={"grounds": "notes,risk", "reviewer": "outside"})
    assert [b["block_id"] for b in chosen["blocks"] if b["type"] == "input"] == ["grounds", "reviewer", "outsider"]
    # a reviewer chosen once, then the reviewable ground unticked: the reviewer goes, and the outsider with it
    unticked = blocks.render_modal(DEPENDENT_FORM, {"ref": REF}, values={"grounds": "notes", "reviewer": "outside"})
    assert [b["block_id"] for b in unticked["blocks"] if b["type"] == "input"] == ["grounds"]


def test_a_form_kept_as_json_keeps_its_conditions():
    again = prompt_from_dict(json.loads(json.dumps(prompt_to_dict(DEPENDENT_FORM))))
    assert again == DEPENDENT_FORM and again.fields[1].only_if == ("grounds", ("risk", "harm"))


def test_form_values_read_every_element_kind():
    state = {
        "label": {"label": {"type": "plain_text_input", "value": "JQ"}},
        "when": {"when": {"type": "datepicker", "selected_date": "2026-03-01"}},
        "who": {"who": {"type": "radio_buttons", "selected_option": {"value": "client"}}},
        "checks": {"checks": {"type": "checkboxes", "selected_options": [{"value": "a"}, {"value": "b"}]}},
        "empty": {"empty": {"type": "static_select", "selected_option": None}},
    }
    assert blocks.form_values(state) == {
        "label": "JQ",
        "when": "2026-03-01",
        "who": "client",
        "checks": "a,b",
        "empty": "",
    }


def test_the_home_tab_is_cut_to_one_hundred_blocks():
    prompts = [
        Prompt(
            kind="choice", text=f"RR-2026-{n:04d}", ref=f"resume:RR-2026-{n:04d}", choices=(Choice("resume", "Next"),)
        )
        for n in range(80)
    ]
    view = blocks.render_home(prompts)
    assert view["type"] == "home" and len(view["blocks"]) <= blocks.VIEW_BLOCKS
    assert "more items are not shown" in json.dumps(view["blocks"][-1])


def test_a_notice_with_a_letter_shows_the_whole_letter():
    from bot.adapters.slack.blocks import render_step
    from bot.prompts import Prompt

    letter = "**Addendum**\n\nOn 2026-11-04 the note of 2026-10-01 was corrected.\n\nSigned, A. Clinician"
    (message,) = render_step([Prompt(kind="notice", text="Saved the addendum.", body=letter)])
    shown = " ".join(b["text"]["text"] for b in message["blocks"] if b["type"] == "section")
    assert "Saved the addendum." in shown and "*Addendum*" in shown and "Signed, A. Clinician" in shown
