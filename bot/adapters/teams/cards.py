"""Prompt -> Adaptive Card (schema 1.5, plain elements that render on desktop and mobile), and submits back to answers."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from bot.prompts import Choice, FormField, Prompt
from bot.text import say

SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
VERSION = "1.5"
CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
BUTTONS = 5  # more choices than this become a drop-down
TEXT_BLOCK = 20_000  # one TextBlock at most; a whole card is kept under CARD_BYTES
CARD_BYTES = 70_000  # Teams refuses messages over about 80-100 KB (413 MessageSizeTooBig): stay well under
QUESTION_KEPT = 300  # how much of the question a submit carries back (it reads back on the ticked card)

# keys a submit's data carries; input ids never start with "rr_" except the two below
REF, VALUE, LABEL, QUESTION, LABELS = "rr_ref", "rr_value", "rr_label", "rr_question", "rr_labels"
INPUT, NOTE = "rr_input", "rr_note"
BACK = "rr_back"  # a step's Back button: one step back in the run, answers kept

Card = dict[str, Any]


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def card(body: list[dict[str, Any]]) -> Card:
    return fit({"type": "AdaptiveCard", "$schema": SCHEMA, "version": VERSION, "body": body})


def _text_blocks(node: Any) -> list[dict[str, Any]]:
    if isinstance(node, dict):
        found = [node] if node.get("type") == "TextBlock" else []
        return found + [b for value in node.values() for b in _text_blocks(value)]
    if isinstance(node, list):
        return [b for item in node for b in _text_blocks(item)]
    return []


def fit(shown: Card, limit: int = CARD_BYTES) -> Card:
    """Shorten the longest texts (a long draft) until the card is under Teams' message size; inputs stay whole."""
    size = len(json.dumps(shown, ensure_ascii=False).encode())
    blocks = _text_blocks(shown)
    while size > limit and blocks:
        longest = max(blocks, key=lambda b: len(b["text"]))
        over = size - limit
        keep = max(len(longest["text"]) - over - 200, 200)
        if keep >= len(longest["text"]):
            break
        longest["text"] = longest["text"][:keep] + "\n\n" + say("teams.text_shortened")
        blocks.remove(longest)
        size = len(json.dumps(shown, ensure_ascii=False).encode())
    return shown


def text_block(text: str, **style: Any) -> dict[str, Any]:
    if len(text) > TEXT_BLOCK:  # a letter longer than a card should hold: say where the whole text is
        text = text[: TEXT_BLOCK - 200] + "\n\n" + say("teams.text_shortened")
    return {"type": "TextBlock", "text": text, "wrap": True, **style}


def submit(title: str, data: dict[str, Any], *, primary: bool = False) -> dict[str, Any]:
    action: dict[str, Any] = {"type": "Action.Submit", "title": clip(title, 80), "data": data}
    if primary:
        action["style"] = "positive"
    return action


def choice_set(
    input_id: str, choices: Sequence[Choice], *, default: str | None = None, multi: bool = False
) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "Input.ChoiceSet",
        "id": input_id,
        "style": "expanded" if multi and len(choices) <= 10 else "compact",
        "isMultiSelect": multi,
        "choices": [{"title": clip(c.label, 200), "value": c.value} for c in choices],
    }
    if default:
        element["value"] = default
    return element


def yes_no(prompt: Prompt) -> tuple[Choice, ...]:
    return prompt.choices or (Choice("yes", say("teams.yes")), Choice("no", say("teams.no")))


def _labels(choices: Sequence[Choice]) -> dict[str, str]:
    """How each value of a drop-down or checklist reads back on the ticked card."""
    return {c.value: clip(c.label, 200) for c in choices}


def _data(prompt: Prompt, **extra: Any) -> dict[str, Any]:
    return {REF: prompt.ref, QUESTION: clip(prompt.text or "", QUESTION_KEPT), **extra}


# ---- prompts ---------------------------------------------------------------------------------------------------------


def prompt_elements(prompt: Prompt, *, with_header: bool = True, values: dict[str, str] | None = None) -> list[Any]:
    """The card elements showing one prompt: its text, its draft, its inputs and an ActionSet of its buttons."""
    body: list[dict[str, Any]] = []
    if with_header and prompt.header:
        body.append(text_block(prompt.header, isSubtle=True, size="Small"))
    if prompt.error:
        body.append(text_block(say("teams.error_line", reason=prompt.error), color="Attention"))
    if prompt.text:
        body.append(text_block(prompt.text))
    if prompt.body:  # a draft to review, or a letter or case file shown with a note (as Slack shows them)
        body.append({"type": "Container", "style": "emphasis", "items": [text_block(prompt.body)]})
    ref = prompt.ref
    if ref is None or prompt.kind == "notice":
        return body
    actions: list[dict[str, Any]] = []
    if prompt.kind in ("choice", "draft", "confirm"):
        choices = yes_no(prompt) if prompt.kind == "confirm" else prompt.choices
        if ref.startswith("consult:"):
            body.append(
                {"type": "Input.Text", "id": NOTE, "label": say("teams.consult_note"), "isMultiline": True}
                | {"maxLength": 1000}
            )
        if len(choices) <= BUTTONS:
            actions = [
                submit(c.label, _data(prompt, **{VALUE: c.value, LABEL: c.label}), primary=n == 0)
                for n, c in enumerate(choices)
            ]
        else:
            body.append(choice_set(INPUT, choices, default=prompt.default))
            actions = [submit(say("teams.send_button"), _data(prompt, **{LABELS: _labels(choices)}), primary=True)]
    elif prompt.kind == "member":
        body.append(choice_set(INPUT, prompt.choices, default=prompt.default))
        labels = _labels(prompt.choices)
        actions = [submit(say("teams.send_button"), _data(prompt, **{LABELS: labels}), primary=True)]
    elif prompt.kind == "date":
        picker: dict[str, Any] = {"type": "Input.Date", "id": INPUT, "label": say("teams.date_label")}
        if prompt.default:
            picker["value"] = prompt.default
        body.append(picker)
        actions = [submit(say("teams.send_button"), _data(prompt), primary=True)]
    elif prompt.kind == "text":
        field: dict[str, Any] = {
            "type": "Input.Text",
            "id": INPUT,
            "label": say("teams.text_label"),
            "maxLength": prompt.max_length,
            "isMultiline": prompt.max_length > 150,
        }
        if prompt.default:
            field["value"] = prompt.default[: prompt.max_length]
        body.append(field)
        actions = [submit(say("teams.send_button"), _data(prompt), primary=True)]
    elif prompt.kind == "checklist":
        body.append(choice_set(INPUT, prompt.choices, default=prompt.default, multi=True))
        labels = _labels(prompt.choices)
        actions = [submit(say("teams.done_button"), _data(prompt, **{LABELS: labels}), primary=True)]
    elif prompt.kind == "form":
        for form_field in prompt.fields:
            note = only_if_note(form_field, prompt.fields)
            if note:  # a card can't hide a field until an answer is chosen: it says when the field applies
                body.append(text_block(note, isSubtle=True, size="Small"))
            body.extend(form_inputs(form_field, (values or {}).get(form_field.name), prompt.field_errors))
        actions = [submit(say("teams.form_submit"), _data(prompt), primary=True)]
    if actions and prompt.can_go_back:
        # a way back on every step of a run, as "back" typed in the chat; it sends none of the card's inputs
        back = submit(say("teams.back"), _data(prompt, **{BACK: True, LABEL: say("teams.went_back")}))
        actions.append(back | {"associatedInputs": "none"})
    if actions:
        body.append({"type": "ActionSet", "actions": actions})
    return body


def form_inputs(field: FormField, value: str | None, errors: dict[str, str]) -> list[dict[str, Any]]:
    """One form field as an input (with the answer given, when the card comes back with an error) and its error."""
    shown = value if value is not None else field.default
    element: dict[str, Any]
    if field.kind == "date":
        element = {"type": "Input.Date", "id": field.name}
    elif field.kind in ("choice", "member"):
        element = choice_set(field.name, field.choices)
    elif field.kind == "checklist":
        element = choice_set(field.name, field.choices, multi=True)
    elif field.kind in ("count", "amount"):
        element = {"type": "Input.Text", "id": field.name, "maxLength": 20}
    else:
        element = {"type": "Input.Text", "id": field.name, "maxLength": field.max_length}
        element["isMultiline"] = field.max_length > 150
    element["label"] = field.label
    # a field that applies only after a certain answer is never required by the card: it may not apply at all
    element["isRequired"] = field.required and field.only_if is None
    if element["isRequired"]:
        element["errorMessage"] = say("teams.required")
    if shown:
        element["value"] = shown
    out = [element]
    if field.hint:
        out.append(text_block(field.hint, isSubtle=True, size="Small", spacing="None"))
    if field.name in errors:
        out.append(text_block(say("teams.error_line", reason=errors[field.name]), color="Attention", spacing="None"))
    return out


def only_if_note(field: FormField, fields: Sequence[FormField]) -> str | None:
    """For a field that applies only after a certain answer to another (only_if): which answer, in words."""
    if field.only_if is None:
        return None
    name, wanted = field.only_if
    controller = next((f for f in fields if f.name == name), None)
    if controller is None:
        return None
    accepted = tuple(wanted) if isinstance(wanted, list | tuple) else (wanted,)
    answers = [c.label for c in controller.choices if c.value in accepted] or list(accepted)
    return say("teams.only_if", question=controller.label, answers=answers, ticked=controller.kind == "checklist")


def render_step(prompts: Sequence[Prompt]) -> Card:
    """What one answer brings, as one card: the run's header line once, notes, draft and the next question."""
    header = next((p.header for p in prompts if p.header), None)
    body: list[Any] = [text_block(header, isSubtle=True, size="Small")] if header else []
    for prompt in prompts:
        body.extend(prompt_elements(prompt, with_header=False))
    return card(body or [text_block(say("teams.fallback_question"))])


def render_cards(prompts: Sequence[Prompt]) -> Card:
    """Several prompts (a channel post, a consult card, a direct answer) as one card, each with its own header."""
    body: list[Any] = []
    for prompt in prompts:
        body.extend(prompt_elements(prompt))
    return card(body or [text_block(say("teams.fallback_question"))])


def render_form_again(form: Prompt, values: dict[str, str], errors: dict[str, str]) -> Card:
    """A form sent back on its own card: what was typed kept, each wrong field's reason under it."""
    again = Prompt(
        kind="form",
        text=form.text,
        ref=form.ref,
        fields=form.fields,
        header=form.header,
        error=say("teams.form_has_errors") if errors else None,
        field_errors=errors,
    )
    return card(prompt_elements(again, values=values))


def render_answered(question: str, answer: str | None) -> Card:
    """A step once answered, replacing its card in place: the question, ticked, with the answer under it."""
    body = [text_block(clip(question, 1000) or say("teams.fallback_question"), isSubtle=True)]
    line = say("teams.answered_line", answer=clip(answer, 1500)) if answer else say("teams.answered_plain")
    body.append(text_block(line, weight="Bolder"))
    return card(body)


def fallback_text(prompts: Sequence[Prompt]) -> str:
    """The notification line of a card: the question asked, else the first text."""
    asking = next((p for p in prompts if p.expects_answer and p.text), None)
    first = asking or next((p for p in prompts if p.text), None)
    return clip(first.text if first else say("teams.fallback_question"), 200)


# ---- submits -------------------------------------------------------------------------------------------------------


def read_submit(value: dict[str, Any]) -> tuple[str, Any, str | None, str] | None:
    """(ref, answer value, how it reads back, the question) from an Action.Submit's activity.value; None if not ours."""
    ref = value.get(REF)
    if not isinstance(ref, str) or not ref:
        return None
    question = str(value.get(QUESTION) or "")
    if VALUE in value:  # a button
        answer, label = str(value[VALUE]), str(value.get(LABEL) or value[VALUE])
        note = str(value.get(NOTE) or "").strip()
        if note and ref.startswith("consult:"):
            return ref, {"answer": answer, "note": note}, f"{label}: {note}", question
        return ref, answer, label, question
    if INPUT in value:  # one input and Send: a choice, a date, a text, ticked boxes (comma-separated)
        typed = str(value.get(INPUT) or "")
        labels = value.get(LABELS) if isinstance(value.get(LABELS), dict) else {}
        shown = ", ".join(str(labels.get(v, v)) for v in typed.split(",")) if labels and typed else typed
        return ref, typed, shown or say("teams.nothing_ticked"), question
    fields = {k: "" if v is None else str(v) for k, v in value.items() if not k.startswith("rr_")}
    return ref, fields, None, question
