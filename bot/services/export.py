"""One request's case file (Markdown and HTML): deadlines, timeline, letters, consults, checks, delivery."""

from __future__ import annotations

import os
import re
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from cryptography.fernet import Fernet
from sqlmodel import Session, select

from bot import text
from bot.services import plain
from bot.services.audit import verify
from bot.services.secrets import CONTACT_FIELDS, decrypt_contact
from bot.store import AuditEvent, ChecklistItem, Consult, Draft, Member, RecordsRequest, as_utc, utcnow

REFERENCE_FORM = re.compile(r"^RR-\d{4}-\d{4,}$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_CHANGE_SHOWN_CHARS = 120


CREATED_SHOWN = (
    "reference",
    "received_on",
    "access_type",
    "requester_type",
    "therapy_format",
    "jurisdiction",
    "due_on",
)


class CaseNotFound(LookupError):
    """No records request has this reference."""

    def __init__(self, reference: str) -> None:
        super().__init__(f"No records request has the reference {reference}.")
        self.reference = reference


def _day(value: Any) -> date | None:
    """An ISO date string (as the deadline JSON holds) as a date; anything else as None."""
    if isinstance(value, date):
        return value
    if isinstance(value, str) and _ISO_DATE.match(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _moment(value: datetime | None, tz: ZoneInfo) -> str:
    if value is None:
        return ""
    local = as_utc(value).astimezone(tz)
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"


def _shown(value: Any) -> str:
    """A JSON value as one readable line: lists joined by commas, mappings as key: value."""
    if value is None:
        return ""
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_shown(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(_shown(v) for v in value)
    return str(value)


def _items(value: Any) -> list[str]:
    if value in (None, "", [], {}):
        return []
    if isinstance(value, list | tuple):
        return [_shown(v) for v in value]
    return [_shown(value)]


def _clip(value: Any) -> str:
    shown = _shown(value)
    return shown if len(shown) <= _CHANGE_SHOWN_CHARS else shown[: _CHANGE_SHOWN_CHARS - 1] + "…"


def _timeline(events: list[AuditEvent], tz: ZoneInfo) -> list[dict[str, Any]]:
    """The audit events in words; a step change that reads the same in words (two questions of one step) is left out."""
    rows = []
    for event in events:
        changes = []
        for key in sorted(event.before.keys() | event.after.keys()):
            # the opening event records every field; the case file shows the ones a reader needs
            if event.action == "request.created" and key not in CREATED_SHOWN:
                continue
            was, now = _clip(plain.value(key, event.before.get(key))), _clip(plain.value(key, event.after.get(key)))
            if was != now:
                changes.append((plain.field(key), was, now))
        if changes or event.action != "request.updated":
            rows.append(
                {
                    "id": event.id,
                    "at": _moment(event.at, tz),
                    "actor": event.actor,
                    "action": event.action,
                    "changes": changes,
                }
            )
    return rows


def _fence(body: str) -> str:
    """A Markdown code fence longer than any run of backticks in body, so the body shows verbatim."""
    longest = max((len(run) for run in re.findall(r"`+", body)), default=0)
    return "`" * max(3, longest + 1)


def _deadline(raw: dict[str, Any]) -> dict[str, Any]:
    rules = [
        {
            "name": rule.get("name", ""),
            "due": _day(rule.get("due")),
            "extended_due": _day(rule.get("extended_due")),
            "days": rule.get("days"),
            "counting": rule.get("counting", ""),
            "citation": rule.get("citation", ""),
        }
        for rule in raw.get("rules", [])
    ]
    notes = raw.get("notes") or []
    return {
        "received": _day(raw.get("received")),
        "jurisdiction": raw.get("jurisdiction"),
        "access": raw.get("access"),
        "due": _day(raw.get("due")),
        "extended_due": _day(raw.get("extended_due")),
        "rules": rules,
        "notes": [notes] if isinstance(notes, str) else list(notes),
    }


def _contact(fernet: Fernet | None, token: str | None) -> dict[str, str] | None:
    if fernet is None:
        return None
    opened = decrypt_contact(fernet, token)
    return {field: opened.get(field, "") for field in CONTACT_FIELDS}


def _delivery(request: RecordsRequest) -> dict[str, Any] | None:
    release = request.release or {}
    if not release and request.released_on is None:
        return None
    fee = release.get("fee_cents", release.get("fee"))
    return {
        "released_on": request.released_on,
        "method": plain.value("method", release.get("method")),
        "included": _items(release.get("included")),
        "withheld": _items(release.get("withheld")),
        # the store keeps money in cents (fee_estimate_cents); any other form is shown as given
        "fee_cents": fee if isinstance(fee, int) and not isinstance(fee, bool) else None,
        "fee": None if isinstance(fee, int) and not isinstance(fee, bool) else _shown(fee),
        "other": [
            (plain.field(k), plain.value(k, v))
            for k, v in release.items()
            # the release date is shown above; the rest in words
            if k not in {"method", "included", "withheld", "fee", "fee_cents", "released_on"}
        ],
    }


def case_file_context(session: Session, reference: str, *, fernet: Fernet | None, tz: ZoneInfo) -> dict[str, Any]:
    """Everything the case-file templates show, gathered from the store; CaseNotFound for an unknown reference."""
    request = session.exec(select(RecordsRequest).where(RecordsRequest.reference == reference)).first()
    if request is None:
        raise CaseNotFound(reference)
    members = {m.id: m.name for m in session.exec(select(Member)).all()}
    events = session.exec(select(AuditEvent).where(AuditEvent.request_id == request.id).order_by(AuditEvent.id)).all()  # type: ignore[arg-type]
    drafts = session.exec(
        select(Draft).where(Draft.request_id == request.id).order_by(Draft.created_at, Draft.id)
    ).all()  # type: ignore[arg-type]
    consults = session.exec(
        select(Consult).where(Consult.request_id == request.id).order_by(Consult.asked_at, Consult.id)
    ).all()  # type: ignore[arg-type]
    checks = session.exec(
        select(ChecklistItem).where(ChecklistItem.request_id == request.id).order_by(ChecklistItem.id)
    ).all()  # type: ignore[arg-type]

    extension = None
    if request.extension_reason or request.extension_notice_sent_on or request.extended_to:
        extension = {
            "reason": request.extension_reason,
            "notice_sent_on": request.extension_notice_sent_on,
            "new_date": request.extended_to,
        }
    return {
        "reference": request.reference,
        "client_label": request.client_label,
        "contact": _contact(fernet, request.client_contact),
        "status": text.say("plain.complaint")
        if request.outcome == "board_complaint"
        else plain.value("status", request.status),
        "step": plain.value("step", request.step),
        "owner": members.get(request.owner_id) if request.owner_id is not None else None,
        "requester_type": plain.value("requester_type", request.requester_type),
        "therapy_format": plain.value("therapy_format", request.therapy_format),
        "access_type": plain.value("access_type", request.access_type),
        "received_on": request.received_on,
        "scope_from": request.scope_from,
        "scope_to": request.scope_to,
        "scope_note": request.scope_note,
        "form": plain.value("form", request.form),
        "delivery_method": plain.value("delivery", request.delivery),
        "jurisdiction": request.jurisdiction,
        "acknowledged_on": request.acknowledged_on,
        "fee_estimate_cents": request.fee_estimate_cents,
        "due_on": request.due_on,
        "target_on": request.target_on,
        "effective_due": request.effective_due,
        "deadline": _deadline(request.deadline or {}),
        "extension": extension,
        "timeline": _timeline(events, tz),
        "drafts": [
            {
                "kind": plain.value("kind", draft.kind),
                "language": draft.language,
                "created_at": _moment(draft.created_at, tz),
                "created_by": members.get(draft.created_by_id),
                "sent_on": draft.sent_on,
                "body": draft.body,
                "fence": _fence(draft.body),
            }
            for draft in drafts
        ],
        "consults": [
            {
                "kind": text.say("plain.consult_kind", kind=consult.kind),
                "asked_by": members.get(consult.asked_by_id),
                "asked_member": members.get(consult.asked_member_id),
                "question": consult.question,
                "status": consult.status,
                "answer": consult.answer,
                "note": consult.note,
                "spoken_to": consult.spoken_to,
                "spoken_on": consult.spoken_on,
                "reference_number": consult.reference_number,
                "asked_at": _moment(consult.asked_at, tz),
                "answered_at": _moment(consult.answered_at, tz),
            }
            for consult in consults
        ],
        "checklist": [
            {
                "key": plain.value("items", item.key),
                "done": item.done,
                "note": item.note,
                "done_by": members.get(item.done_by_id),
                "done_at": _moment(item.done_at, tz),
            }
            for item in checks
        ],
        "delivery": _delivery(request),
        "denial": [
            (plain.field(k), plain.value(k, v)) for k, v in (request.denial or {}).items() if v not in (None, "", [])
        ],
        "withheld_items": _withheld_items(request),
        "outcome": plain.value("outcome", request.outcome) if request.outcome else None,
        "outcome_note": request.outcome_note,
        "closed_on": request.closed_on,
        "chain": verify(session),
        "exported_at": _moment(utcnow(), tz),
    }


def _withheld_items(request: RecordsRequest) -> list[dict[str, Any]]:
    """Each withheld item with its own ground, reviewability and rule, as the letters gave them."""
    from bot.domain.letters import DENIAL_GROUNDS, GROUND_CITATIONS
    from bot.services.drafting import denial_items

    return [
        {
            "what": item["what"],
            "ground": item["ground"],
            "reviewable": DENIAL_GROUNDS.get(item["ground"]),
            "citation": GROUND_CITATIONS.get(item["ground"], ""),
        }
        for item in denial_items(request)
    ]


def _write_private(path: Path, content: str) -> None:
    # The case file holds health information: owner-only from the moment it exists.
    fd = os.open(path, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(content + "\n")
    os.chmod(path, 0o600)


def case_file_markdown(session: Session, reference: str, *, fernet: Fernet | None, tz: ZoneInfo) -> str:
    """The case file as Markdown text (what chat sends as a file); CaseNotFound for an unknown reference."""
    return text.render("export/case_file.md.j2", **case_file_context(session, reference, fernet=fernet, tz=tz))


def export_case_file(
    session: Session, reference: str, out_dir: Path, *, fernet: Fernet | None = None, tz: ZoneInfo
) -> tuple[Path, Path]:
    """Write <reference>.md and <reference>.html into out_dir; CaseNotFound for an unknown reference.

    With a fernet, the client's decrypted contact details are included; without, only the label.
    """
    if not REFERENCE_FORM.match(reference):
        # the reference becomes a file name: nothing but the RR-YYYY-NNNN form may reach the file system
        raise ValueError(f"{reference!r} is not a request reference (RR-YYYY-NNNN)")
    context = case_file_context(session, reference, fernet=fernet, tz=tz)
    out_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    md_path, html_path = out_dir / f"{reference}.md", out_dir / f"{reference}.html"
    _write_private(md_path, text.render("export/case_file.md.j2", **context))
    _write_private(html_path, text.render("export/case_file.html.j2", **context))
    return md_path, html_path
