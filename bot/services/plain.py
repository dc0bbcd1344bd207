"""Stored fields and values said in plain words (A parent of a minor client, Reviewable: yes), for the case file."""

from __future__ import annotations

from datetime import date
from typing import Any

from bot import text

# which answer vocabulary (templates/records_request.j2 labels) a stored field's values come from
VOCABULARY = {
    "requester_type": "requester",
    "access_type": "access",
    "therapy_format": "format",
    "delivery": "delivery",
    "method": "delivery",
    "form": "form",
    "language": "language",
    "outcome": "outcome",
    "psychotherapy_notes": "pnotes",
    "others_info": "others",
    "risk": "risk",
    "errors_found": "yesno",
    "consent": "consent",
    "items": "review",
    "grounds": "ground",
}
STEPS = ("step", "from", "to")
MONEY = ("fee_estimate_cents", "fee_cents")


def field(name: str) -> str:
    return text.say("plain.field", name=name)


def value(name: str, raw: Any) -> str:
    """One stored value as words; unknown vocabularies fall back to the value with its underscores as spaces."""
    if raw is None or raw == "" or raw == []:
        return ""
    if isinstance(raw, bool):
        return text.say("plain.yes_no", value=raw)
    if isinstance(raw, list):
        return ", ".join(value(name, item) for item in raw)
    if isinstance(raw, dict):
        if "label" in raw and "consent" in raw:  # a participant and where their authorization stands
            return f"{raw['label']} ({value('consent', raw['consent'])})"
        return "; ".join(f"{field(k)}: {value(k, v)}" for k, v in raw.items() if v not in (None, "", []))
    if name in STEPS:
        return text.say("steps.name", step=raw)
    if name in MONEY and isinstance(raw, int):
        return f"${raw / 100:,.2f}"
    if name == "status":
        return str(raw).replace("_", " ")
    if name == "kind":
        return text.say("plain.letter", kind=raw)
    if name == "answer":
        return text.say("plain.consult_answer", answer=raw)
    if isinstance(raw, date) or (isinstance(raw, str) and len(raw) == 10 and raw[4] == "-" and raw[7] == "-"):
        try:
            day = raw if isinstance(raw, date) else date.fromisoformat(raw)
        except ValueError:
            return str(raw)
        return f"{day:%B} {day.day}, {day:%Y}"
    group = VOCABULARY.get(name)
    if group and isinstance(raw, str):
        try:
            return text.say("records_request.label", group=group, value=raw)
        except Exception:  # a value the vocabulary doesn't know (an older version's): shown as stored, readably
            return raw.replace("_", " ")
    return str(raw)
