"""Typed references that prompts carry and answers bring back: parsed and formatted here only."""

from __future__ import annotations

import re
from dataclasses import dataclass

_RUN = re.compile(r"^run:(\d{1,18}):([a-z_]{1,40}):(\d{1,18})$")
_CONSULT = re.compile(r"^consult:(\d{1,18})$")
_OFFER = re.compile(r"^consult:(\d{1,18}):offer$")
_EDIT = re.compile(r"^edit:(RR-\d{4}-\d{4,}):([a-z_]{1,40})$", re.I)
_RESUME = re.compile(r"^resume:(RR-\d{4}-\d{4,})$", re.I)
_CASE_FILE = re.compile(r"^casefile(?::(RR-\d{4}-\d{4,}))?$", re.I)
REFERENCE = re.compile(r"\b(RR-\d{4}-\d{4,})\b", re.I)


@dataclass(frozen=True)
class RunRef:
    """A step of a run at a version: "run:<id>:<step>:<version>"."""

    run_id: int
    step: str
    version: int

    def __str__(self) -> str:
        return f"run:{self.run_id}:{self.step}:{self.version}"

    @classmethod
    def parse(cls, text: str | None) -> RunRef | None:
        match = _RUN.match(text or "")
        return cls(int(match[1]), match[2], int(match[3])) if match else None


def consult_ref(consult_id: int) -> str:
    return f"consult:{consult_id}"


def offer_ref(consult_id: int) -> str:
    return f"consult:{consult_id}:offer"


def resume_ref(reference: str) -> str:
    """A request's row on the Home tab; its buttons say what to do with it (RESUME, CASE_FILE)."""
    return f"resume:{reference}"


RESUME, CASE_FILE = "resume", "case_file"  # the values a Home row's buttons answer with


def case_file_ref(reference: str | None = None) -> str:
    """Send me this request's case file; without a reference, the answer names the request (a pick list)."""
    return f"casefile:{reference}" if reference else "casefile"


def parse_case_file(text: str | None) -> str | None:
    """The reference a case-file button names, "" when the answer names it, None for any other ref."""
    match = _CASE_FILE.match(text or "")
    if match is None:
        return None
    return (match[1] or "").upper()


def parse_consult(text: str | None) -> int | None:
    match = _CONSULT.match(text or "")
    return int(match[1]) if match else None


def parse_offer(text: str | None) -> int | None:
    match = _OFFER.match(text or "")
    return int(match[1]) if match else None


def parse_resume(text: str | None) -> str | None:
    """The request reference a Home tab "next action" resumes."""
    match = _RESUME.match(text or "")
    return match[1].upper() if match else None


def edit_ref(reference: str, field: str) -> str:
    """A correction to one field of a request ("edit RR-… received"), answered later."""
    return f"edit:{reference}:{field}"


def parse_edit(text: str | None) -> tuple[str, str] | None:
    match = _EDIT.match(text or "")
    return (match[1].upper(), match[2]) if match else None
