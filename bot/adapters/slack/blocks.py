"""Prompt -> Block Kit (messages, modals, App Home), with Slack's size limits enforced here, never by Slack."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any

from bot.adapters.slack.ids import (
    BACK_BLOCK,
    CONSULT_PREFIX,
    FORM_CALLBACK,
    NOTE_ACTION,
    NOTE_BLOCK,
    Action,
    action_id,
    block_id,
)
from bot.answers import applicable_fields
from bot.prompts import Choice, FormField, Prompt
from bot.text import say

MESSAGE_BLOCKS = 50
VIEW_BLOCKS = 100  # modals and the Home tab
SECTION_TEXT = 3000
FALLBACK_TEXT = 3000
BUTTON_TEXT = 75
BUTTON_VALUE = 2000
OPTION_TEXT = 75
OPTIONS = 100
ACTIONS_ELEMENTS = 25
CHECKBOXES = 10
RADIO_BUTTONS = 5
BUTTONS = 5
LABEL = 2000
PLACEHOLDER = 150
VIEW_TITLE = 24
METADATA = 3000
TEXT_INPUT = 3000

Block = dict[str, Any]
Message = dict[str, Any]  # {"text": fallback, "blocks": [...]}: one chat.postMessage


class RenderError(ValueError):
    """A prompt that cannot be shown within Slack's limits at all (for example a form of over 100 fields)."""


# ---- text ----------------------------------------------------------------------------------------------------------


def escape(text: str) -> str:
    """Text safe for mrkdwn: &, < and > escaped (so nobody's text can mention @channel or fake a link)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def mrkdwn(text: str) -> str:
    """The core's neutral markdown as Slack mrkdwn: escaped, **bold** -> *bold*."""
    return re.sub(r"\*\*(.+?)\*\*", r"*\1*", escape(text))


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def split_text(text: str, limit: int = SECTION_TEXT) -> list[str]:
    """Pieces of at most limit chars, cut at a paragraph, line or word boundary where there is one."""
    pieces: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        window = rest[:limit]
        cut = max(window.rfind("\n\n"), window.rfind("\n"), window.rfind(" "))
        if cut < limit // 2:
            cut = limit
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        pieces.append(rest)
    return pieces


def plain(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": clip(text, limit) or " ", "emoji": True}


def sections(text: str, *, markdown: bool = True) -> list[Block]:
    kind = "mrkdwn" if markdown else "plain_text"
    body = mrkdwn(text) if markdown else text
    return [{"type": "section", "text": {"type": kind, "text": piece}} for piece in split_text(body)]


def context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": clip(text, SECTION_TEXT)}]}


# ---- elements ------------------------------------------------------------------------------------------------------


def option(choice: Choice) -> dict[str, Any]:
    return {"text": plain(choice.label, OPTION_TEXT), "value": choice.value[:150]}


def button(label: str, value: str, act: str, *, style: str | None = None) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "button", "text": plain(label, BUTTON_TEXT), "value": value[:BUTTON_VALUE]}
    element["action_id"] = act
    if style:
        element["style"] = style
    return element


def selects(choices: tuple[Choice, ...], placeholder: str, default: str | None) -> tuple[list[dict[str, Any]], int]:
    """static_selects of at most 100 options each (at most 25 of them); returns them and how many choices were left out."""
    chunks = [choices[i : i + OPTIONS] for i in range(0, len(choices), OPTIONS)][:ACTIONS_ELEMENTS]
    elements = []
    for n, chunk in enumerate(chunks):
        text = (
            placeholder
            if len(chunks) == 1
            else say("slack.select_more_placeholder", first=n * OPTIONS + 1, last=n * OPTIONS + len(chunk))
        )
        element: dict[str, Any] = {
            "type": "static_select",
            "action_id": action_id(Action.choose, n),
            "placeholder": plain(text, PLACEHOLDER),
            "options": [option(c) for c in chunk],
        }
        chosen = next((c for c in chunk if c.value == default), None)
        if chosen:
            element["initial_option"] = option(chosen)
        elements.append(element)
    return elements, len(choices) - sum(len(c) for c in chunks)


def yes_no(prompt: Prompt) -> tuple[Choice, ...]:
    return prompt.choices or (Choice("yes", say("slack.yes")), Choice("no", say("slack.no")))


# ---- prompts in messages -------------------------------------------------------------------------------------------


def prompt_blocks(prompt: Prompt, *, with_header: bool = True) -> list[Block]:
    """The blocks showing one prompt in a message or on the Home tab (not yet cut to a block limit)."""
    blocks: list[Block] = []
    if with_header and prompt.header:
        blocks.append(context(mrkdwn(prompt.header)))
    if prompt.error:
        blocks.append(context(say("slack.error_line", reason=mrkdwn(prompt.error))))
    if prompt.text:
        blocks.extend(sections(prompt.text))
    if prompt.body:  # a letter (a draft to review, or a saved addendum or cover letter): shown whole
        blocks.extend(sections(prompt.body))  # letters are Markdown: shown with their bold, escaped as data
    ref = prompt.ref
    if ref is None or prompt.kind == "notice":
        return blocks
    if prompt.kind in ("choice", "draft", "confirm"):
        choices = yes_no(prompt) if prompt.kind == "confirm" else prompt.choices
        if not choices:
            return blocks
        if ref.startswith(CONSULT_PREFIX):
            note = {"type": "plain_text_input", "action_id": NOTE_ACTION, "max_length": 1000}
            label = plain(say("slack.consult_note"), LABEL)
            blocks.append(
                {
                    "type": "input",
                    "block_id": block_id(ref, NOTE_BLOCK),
                    "optional": True,
                    "label": label,
                    "element": note,
                }
            )
        if len(choices) <= BUTTONS:
            elements = [
                button(
                    c.label,
                    c.value,
                    action_id(Action.choose, n),
                    style="primary" if n == 0 and prompt.kind == "confirm" else None,
                )
                for n, c in enumerate(choices)
            ]
            blocks.append({"type": "actions", "block_id": block_id(ref), "elements": elements})
        else:
            elements, left_out = selects(choices, say("slack.select_placeholder"), prompt.default)
            blocks.append({"type": "actions", "block_id": block_id(ref), "elements": elements})
            if left_out:
                blocks.append(context(say("slack.choices_left_out", count=left_out)))
    elif prompt.kind == "member":
        elements, left_out = selects(prompt.choices, say("slack.member_placeholder"), prompt.default)
        blocks.append({"type": "actions", "block_id": block_id(ref), "elements": elements})
        if left_out:
            blocks.append(context(say("slack.choices_left_out", count=left_out)))
    elif prompt.kind == "date":
        picker: dict[str, Any] = {
            "type": "datepicker",
            "action_id": action_id(Action.pick_date),
            "placeholder": plain(say("slack.date_placeholder"), PLACEHOLDER),
        }
        elements: list[dict[str, Any]] = [picker]
        if prompt.default:
            picker["initial_date"] = prompt.default
            # a datepicker only speaks when changed: the suggested date needs a button of its own
            elements.append(
                button(say("slack.use_date", date=prompt.default), prompt.default, action_id(Action.choose))
            )
        blocks.append({"type": "actions", "block_id": block_id(ref), "elements": elements})
    elif prompt.kind == "text":
        limit = min(prompt.max_length, TEXT_INPUT)
        field: dict[str, Any] = {
            "type": "plain_text_input",
            "action_id": action_id(Action.type_text),
            "max_length": limit,
        }
        field["multiline"] = limit > 150
        if prompt.default:
            field["initial_value"] = prompt.default[:limit]
        blocks.append(
            {
                "type": "input",
                "block_id": block_id(ref),
                "dispatch_action": not field["multiline"],
                "label": plain(say("slack.text_label"), LABEL),
                "element": field,
            }
        )
        if field["multiline"]:
            send = button(say("slack.send_button"), "send", action_id(Action.done), style="primary")
            blocks.append({"type": "actions", "block_id": block_id(ref, 1), "elements": [send]})
    elif prompt.kind == "checklist":
        blocks.extend(checklist_blocks(prompt, ref))
    elif prompt.kind == "form":
        opener = button(say("slack.open_form"), "open", action_id(Action.open_form), style="primary")
        blocks.append({"type": "actions", "block_id": block_id(ref), "elements": [opener]})
    if prompt.can_go_back:
        # a way back on every step of a run, as "back" typed in the DM (the run's own version guards a double click)
        back = button(say("slack.back"), "back", action_id(Action.back))
        blocks.append({"type": "actions", "block_id": block_id(ref, BACK_BLOCK), "elements": [back]})
    return blocks


def checklist_blocks(prompt: Prompt, ref: str) -> list[Block]:
    """Tick boxes (Slack remembers them in the message state) and a Done button that sends the ticked ones."""
    defaults = set((prompt.default or "").split(","))
    element: dict[str, Any]
    if len(prompt.choices) <= CHECKBOXES:
        element = {
            "type": "checkboxes",
            "action_id": action_id(Action.check),
            "options": [option(c) for c in prompt.choices],
        }
    else:
        element = {
            "type": "multi_static_select",
            "action_id": action_id(Action.check),
            "placeholder": plain(say("slack.select_placeholder"), PLACEHOLDER),
            "options": [option(c) for c in prompt.choices[:OPTIONS]],
        }
    initial = [option(c) for c in prompt.choices[:OPTIONS] if c.value in defaults]
    if initial:
        element["initial_options"] = initial
    done = button(say("slack.done_button"), "done", action_id(Action.done), style="primary")
    blocks: list[Block] = [
        {"type": "actions", "block_id": block_id(ref), "elements": [element]},
        {"type": "actions", "block_id": block_id(ref, 1), "elements": [done]},
    ]
    if len(prompt.choices) > OPTIONS:
        blocks.append(context(say("slack.choices_left_out", count=len(prompt.choices) - OPTIONS)))
    return blocks


def notification(text: str) -> str:
    """A message's `text` (the notification, and what clients without blocks show), escaped like its blocks."""
    return re.sub(r"&[a-z]{0,3}…$", "…", clip(escape(text), FALLBACK_TEXT))  # never half an entity at the cut


def fallback_text(prompt: Prompt) -> str:
    """The notification text of a message: the question itself, short."""
    return notification(prompt.text or prompt.header or say("slack.fallback_question"))


def paginate(blocks: list[Block], text: str, limit: int = MESSAGE_BLOCKS) -> list[Message]:
    """Cut a block list into messages of at most `limit` blocks, in order (actions stay at the end)."""
    pages = [blocks[i : i + limit] for i in range(0, len(blocks), limit)] or [[]]
    return [{"text": text, "blocks": page} for page in pages]


def render_message(prompt: Prompt) -> list[Message]:
    """One prompt as one or more chat messages, each within the 50-block and 3000-char-per-section limits."""
    return paginate(prompt_blocks(prompt), fallback_text(prompt))


def answer_label(prompt: Prompt, value: Any) -> str:
    """How an answer reads back on a finished step: labels for choices, the date, or the text."""
    by_value = {c.value: c.label for c in (yes_no(prompt) if prompt.kind == "confirm" else prompt.choices)}
    if isinstance(value, list | tuple):
        return ", ".join(by_value.get(str(v), str(v)) for v in value) or say("slack.checklist_none")
    if isinstance(value, dict):
        return "; ".join(f"{k}: {v}" for k, v in value.items() if v)
    return by_value.get(str(value), str(value))


def render_done(prompt: Prompt, value: Any) -> Message:
    """A finished step, as the message it replaces in place: the question ticked, the answer under it."""
    question = mrkdwn(clip(prompt.text or "", 1000))
    if value is None:
        text = say("slack.done_step_plain", question=question)
    else:
        text = say("slack.done_step", question=question, answer=escape(clip(answer_label(prompt, value), 1500)))
    return {
        "text": notification(prompt.text or say("slack.fallback_question")),
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": clip(text, SECTION_TEXT)}}],
    }


def render_header(header: str) -> Message:
    """The message at the top of a run's DM: reference, deadline, days left, step."""
    return {
        "text": notification(header),
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": clip(mrkdwn(header), SECTION_TEXT)}}],
    }


def render_messages(prompts: list[Prompt] | tuple[Prompt, ...]) -> list[Message]:
    """Several prompts (e.g. an outbound card) as messages, packing blocks up to the message limit."""
    blocks: list[Block] = []
    for prompt in prompts:
        blocks.extend(prompt_blocks(prompt))
    text = next((fallback_text(p) for p in prompts if p.text), say("slack.fallback_question"))
    return paginate(blocks, text)


def render_step(prompts: list[Prompt] | tuple[Prompt, ...]) -> list[Message]:
    """What one answer brings, as one message: the run's header line once, notes, draft and the next question.

    Split only where Slack's 50-block limit forces it; the question with its buttons stays at the end.
    """
    header = next((p.header for p in prompts if p.header), None)
    out: list[Block] = [context(mrkdwn(header))] if header else []
    for prompt in prompts:
        out.extend(prompt_blocks(prompt, with_header=False))
    asking = next((p for p in prompts if p.expects_answer and p.text), None)
    text = fallback_text(asking) if asking else next((fallback_text(p) for p in prompts if p.text), "")
    return paginate(out, text or say("slack.fallback_question"))


def render_answered(original: list[Block], text: str, answer: str | None) -> Message:
    """A step message once answered: what it said, its buttons replaced by the answer, ticked."""
    kept = [b for b in original if b.get("type") in ("section", "context", "header", "divider", "rich_text")]
    if not kept and text:  # Slack sent no blocks with the click: keep the question's words at least
        kept = sections(text)
    line = say("slack.answered_line", answer=escape(clip(answer, 1500))) if answer else say("slack.answered_plain")
    kept.append(context(line))
    return {"text": clip(text or say("slack.fallback_question"), FALLBACK_TEXT), "blocks": kept[:MESSAGE_BLOCKS]}


# ---- modals and the Home tab ---------------------------------------------------------------------------------------


def form_element(field: FormField) -> dict[str, Any]:
    act = field.name[:255]
    if field.kind == "date":
        element: dict[str, Any] = {"type": "datepicker", "action_id": act}
        if field.default:
            element["initial_date"] = field.default
        return element
    if field.kind in ("choice", "member"):
        chosen = next((c for c in field.choices if c.value == field.default), None)
        if field.kind == "choice" and len(field.choices) <= RADIO_BUTTONS:
            element = {"type": "radio_buttons", "action_id": act, "options": [option(c) for c in field.choices]}
        elif len(field.choices) <= OPTIONS:
            element = {"type": "static_select", "action_id": act, "options": [option(c) for c in field.choices]}
            element["placeholder"] = plain(say("slack.select_placeholder"), PLACEHOLDER)
        else:
            groups = [field.choices[i : i + OPTIONS] for i in range(0, len(field.choices), OPTIONS)][:OPTIONS]
            element = {
                "type": "static_select",
                "action_id": act,
                "placeholder": plain(say("slack.select_placeholder"), PLACEHOLDER),
            }
            element["option_groups"] = [
                {
                    "label": plain(
                        say("slack.select_more_placeholder", first=n * OPTIONS + 1, last=n * OPTIONS + len(g)),
                        OPTION_TEXT,
                    ),
                    "options": [option(c) for c in g],
                }
                for n, g in enumerate(groups)
            ]
        if chosen:
            element["initial_option"] = option(chosen)
        return element
    if field.kind == "checklist":
        kind = "checkboxes" if len(field.choices) <= CHECKBOXES else "multi_static_select"
        element = {"type": kind, "action_id": act, "options": [option(c) for c in field.choices[:OPTIONS]]}
        if kind == "multi_static_select":
            element["placeholder"] = plain(say("slack.select_placeholder"), PLACEHOLDER)
        defaults = set((field.default or "").split(","))
        initial = [option(c) for c in field.choices[:OPTIONS] if c.value in defaults]
        if initial:
            element["initial_options"] = initial
        return element
    limit = min(field.max_length, TEXT_INPUT)
    element = {"type": "plain_text_input", "action_id": act, "max_length": limit, "multiline": limit > 150}
    if field.default:
        element["initial_value"] = field.default[:limit]
    return element


def render_modal(
    prompt: Prompt,
    metadata: dict[str, Any],
    before: tuple[Prompt, ...] = (),
    *,
    values: dict[str, str] | None = None,
    lead: list[Block] | None = None,
) -> dict[str, Any]:
    """A form prompt as a modal view (views.open); input blocks are keyed by field name for errors and values.

    `before` are notices shown above the form (the orientation note), cut first if the modal runs out of room.
    Only the fields that apply are shown (a field asked only after a certain answer to another, only_if); the fields
    others depend on dispatch their changes, so the modal can be shown again (`values`: what the view holds now,
    kept as each input's initial value; `lead`: the blocks above the inputs, as already shown).
    """
    answers = values or {}
    controllers = {f.only_if[0] for f in prompt.fields if f.only_if}
    inputs: list[Block] = []
    for field in applicable_fields(prompt.fields, answers):
        if field.name in answers:  # what the person chose or typed, not the default, is what they see again
            field = replace(field, default=answers[field.name] or None)
        block: Block = {
            "type": "input",
            "block_id": field.name[:255],
            "label": plain(field.label, LABEL),
            "element": form_element(field),
        }
        block["optional"] = not field.required
        if field.name in controllers:  # a change here shows or hides other fields: Slack tells us at once
            block["dispatch_action"] = True
            block["element"]["action_id"] = action_id(Action.controls)
        if field.hint:
            block["hint"] = plain(field.hint, LABEL)
        inputs.append(block)
    if len(inputs) > VIEW_BLOCKS:
        raise RenderError(f"a form of {len(inputs)} fields does not fit in one Slack modal ({VIEW_BLOCKS} blocks)")
    if lead is None:
        lead = [b for notice in before for b in prompt_blocks(notice)]
        lead += prompt_blocks(Prompt(kind="notice", text=prompt.text, header=prompt.header, error=prompt.error))
    room = VIEW_BLOCKS - len(inputs)
    if len(lead) > room:
        lead = lead[: max(room - 1, 0)] + (
            [context(say("slack.blocks_left_out", count=len(lead) - room + 1))] if room else []
        )
    private = json.dumps(metadata, separators=(",", ":"))
    if len(private) > METADATA:
        raise RenderError("private_metadata over 3000 characters")
    return {
        "type": "modal",
        "callback_id": FORM_CALLBACK,
        "title": plain(say("slack.modal_title"), VIEW_TITLE),
        "submit": plain(say("slack.modal_submit"), VIEW_TITLE),
        "close": plain(say("slack.modal_close"), VIEW_TITLE),
        "private_metadata": private,
        "blocks": lead + inputs,
    }


def reshaped_modal(prompt: Prompt, view: dict[str, Any]) -> dict[str, Any]:
    """The modal again after a change to a field others depend on, with the fields that apply now.

    Built from the view as the person has it: the blocks above the form kept as shown, every answer kept.
    """
    shown = view.get("blocks") or []
    first_input = next((n for n, b in enumerate(shown) if b.get("type") == "input"), len(shown))
    values = form_values((view.get("state") or {}).get("values") or {})
    again = render_modal(prompt, {"ref": prompt.ref}, values=values, lead=[dict(b) for b in shown[:first_input]])
    again["private_metadata"] = view.get("private_metadata") or again["private_metadata"]
    return again


def input_ids(view: dict[str, Any]) -> tuple[str, ...]:
    """The form fields a view shows, in order (its input blocks' ids)."""
    return tuple(str(b.get("block_id")) for b in view.get("blocks") or [] if b.get("type") == "input")


def form_values(prompt_fields: dict[str, Any]) -> dict[str, str]:
    """A view_submission's state.values as {field name: text}; ticked boxes come comma-separated."""
    values: dict[str, str] = {}
    for name, actions in prompt_fields.items():
        for state in actions.values():
            kind = state.get("type")
            if kind == "datepicker":
                values[name] = state.get("selected_date") or ""
            elif kind in ("static_select", "radio_buttons", "external_select"):
                values[name] = (state.get("selected_option") or {}).get("value", "")
            elif kind in ("checkboxes", "multi_static_select"):
                values[name] = ",".join(o["value"] for o in state.get("selected_options") or [])
            else:
                values[name] = state.get("value") or ""
    return values


def render_home(prompts: list[Prompt]) -> dict[str, Any]:
    """The App Home tab: each prompt with its buttons, separated by dividers, cut to 100 blocks."""
    blocks: list[Block] = [{"type": "header", "text": plain(say("slack.home_title"), 150)}]
    if not prompts:
        blocks.extend(sections(say("slack.home_empty")))
    for n, prompt in enumerate(prompts):
        if n:
            blocks.append({"type": "divider"})
        blocks.extend(prompt_blocks(prompt))
    if len(blocks) > VIEW_BLOCKS:
        left = len(blocks) - (VIEW_BLOCKS - 1)
        blocks = blocks[: VIEW_BLOCKS - 1] + [context(say("slack.blocks_left_out", count=left))]
    return {"type": "home", "blocks": blocks}
