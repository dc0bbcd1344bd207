"""Slack ids the adapter owns (command, callback and action ids) and how a prompt ref rides in a block_id."""

from __future__ import annotations

import re
from enum import StrEnum

COMMAND = "/records-request"
FORM_CALLBACK = "rr_form"  # the callback_id of every form modal; the prompt ref rides in private_metadata
ACTION_PREFIX = "rr:"
ACTION_PATTERN = re.compile(r"^rr:")
REF_SEPARATOR = "|"
CONSULT_PREFIX = "consult:"  # a consult card's ref; its buttons may carry a note typed above them
NOTE_BLOCK = 2  # block_id(ref, NOTE_BLOCK) holds a consult card's optional note
BACK_BLOCK = 3  # block_id(ref, BACK_BLOCK) holds a step's Back button
NOTE_ACTION = "note"  # not ours to dispatch: typing a note sends nothing until a button is clicked


class Action(StrEnum):
    """What an interactive element does; the action_id is f"rr:{action}:{n}" so several can share a block."""

    choose = "choose"  # a button or select whose value is the answer
    pick_date = "date"  # a datepicker
    type_text = "text"  # a text input sent with Enter (dispatch_action)
    check = "check"  # a checkbox toggle: remembered by Slack in state, answered by `done`
    done = "done"  # submits the checked boxes of a checklist
    open_form = "form"  # opens the form modal (a message standing in for a modal without a trigger)
    controls = "controls"  # a modal field other fields depend on (only_if): changing it reshapes the modal
    back = "back"  # one step back in the run (answers kept), like typing "back"


def action_id(action: Action, n: int = 0) -> str:
    return f"{ACTION_PREFIX}{action.value}:{n}"


def action_of(action_id_value: str) -> Action | None:
    """The Action of an action_id of ours, or None for anything else."""
    parts = action_id_value.split(":")
    if len(parts) != 3 or parts[0] + ":" != ACTION_PREFIX:
        return None
    try:
        return Action(parts[1])
    except ValueError:
        return None


def block_id(ref: str, n: int = 0) -> str:
    """A block_id that carries the prompt ref (unique per block thanks to n)."""
    return f"{ref}{REF_SEPARATOR}{n}"[:255]


def ref_of(block_id_value: str) -> str | None:
    """The prompt ref a block_id of ours carries, or None."""
    ref, sep, _n = block_id_value.rpartition(REF_SEPARATOR)
    return ref if sep and ref else None
