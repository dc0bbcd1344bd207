"""The shape a Slack request must have before Bolt sees it; a malformed one is refused with a reason, not a 500."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from slack_bolt.request.internals import parse_body

# Interactive payloads that act for a person: each must say who (user.id).
PERSONAL = ("block_actions", "view_submission", "view_closed", "shortcut", "message_action", "block_suggestion")


def malformed(headers: Mapping[str, str], body: bytes, content_type: str | None) -> str | None:
    """Why this request can't be a Slack request (a short reason for the log), or None when it may go on to Bolt."""
    timestamp = headers.get("X-Slack-Request-Timestamp")
    if timestamp is not None and not (timestamp.isascii() and timestamp.isdecimal() and len(timestamp) <= 12):
        return "the timestamp is not a number of seconds"
    try:
        parsed = parse_body(body.decode("utf-8"), content_type)  # exactly as Bolt will parse it
    except UnicodeDecodeError:
        return "the body is not UTF-8"
    except (ValueError, RecursionError):  # not JSON, or a number too long to read (over 4300 digits)
        return "the body or its payload is not readable JSON"
    if not isinstance(parsed, dict):
        return "the body or its payload is not a JSON object"
    return payload_problem(parsed)


def payload_problem(payload: dict[str, Any]) -> str | None:
    """What is missing from an interactive payload that the listeners read without checking."""
    kind, user, actions = payload.get("type"), payload.get("user"), payload.get("actions")
    if kind in PERSONAL and not (isinstance(user, dict) and isinstance(user.get("id"), str) and user["id"]):
        return f"a {kind} payload without a user"
    if kind == "block_actions" and not (
        isinstance(actions, list) and actions and all(isinstance(a, dict) for a in actions)
    ):
        return "a block_actions payload without actions"
    if kind == "view_submission" and metadata_ref(payload.get("view")) is None:
        return "a view_submission whose private_metadata is not ours"
    return None


def metadata_ref(view: Any) -> str | None:
    """The prompt ref a modal of ours carries in private_metadata ({"ref": ...}); None when it carries no such thing."""
    if not isinstance(view, dict):
        return None
    try:
        data = json.loads(view.get("private_metadata") or "{}")
    except (TypeError, ValueError, RecursionError):
        return None
    ref = data.get("ref", "") if isinstance(data, dict) else None
    # our refs carry database ids; a number of 19 digits or more is none of ours (and overflows the database's)
    return ref if isinstance(ref, str) and not re.search(r"\d{19,}", ref) else None
