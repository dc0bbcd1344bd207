"""Records requests in the store: numbering, creation with deadlines and fee, audited changes."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from bot.config import PracticeSettings
from bot.domain.deadlines import due_dates
from bot.domain.fees import PAGE_CAPS, estimate_fee
from bot.services import audit
from bot.store import ChecklistItem, Member, RecordsRequest, ReferenceCounter, utcnow
from bot.text import say

OPEN_STATUSES = ("open", "acknowledged", "in_review")
REFERENCE_PATTERN = r"RR-\d{4}-\d{4,}"
AUDITED_FIELDS = tuple(f for f in RecordsRequest.model_fields if f not in ("id", "created_at", "updated_at"))


def next_reference(session: Session, year: int) -> str:
    """RR-<year>-<nnnn>, numbered by one atomic upsert so two writers never share a number."""
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    table = ReferenceCounter.__table__  # type: ignore[attr-defined]
    statement = (
        insert(table)
        .values(year=year, last=1)
        .on_conflict_do_update(index_elements=["year"], set_={"last": table.c.last + 1})
        .returning(table.c.last)
    )
    number = session.execute(statement).scalar_one()
    return f"RR-{year}-{number:04d}"


def capped(jurisdiction: str, form: str) -> bool:
    """A state per-page cap applies, so the estimate needs the page count."""
    cap = PAGE_CAPS.get(jurisdiction)
    return cap is not None and form in cap.forms


def snapshot(request: RecordsRequest) -> dict[str, Any]:
    return {f: getattr(request, f) for f in AUDITED_FIELDS}


def create_request(
    session: Session,
    *,
    values: dict[str, Any],
    owner: Member,
    practice: PracticeSettings,
    today: date,
    contact_token: str | None = None,
) -> RecordsRequest:
    """A new request from intake answers: reference, deadlines with citations, fee estimate, audit event."""
    received: date = values["received_on"]
    deadline = due_dates(
        received,
        practice.jurisdiction,
        values["access_type"],
        hipaa_covered=practice.hipaa_covered_entity,
        custom_rules=practice.custom_rules,
    )
    fee_cents: int | None
    if values["access_type"] == "inspect":
        # the fee rule covers copies and agreed summaries only (164.524(c)(4)); looking at the record costs nothing
        fee_cents, fee_notes = 0, [say("fees.inspection_free")]
    elif values.get("pages") is None and (values["form"] == "paper" or capped(practice.jurisdiction, values["form"])):
        fee_cents, fee_notes = None, [say("fees.told_before_copying")]  # no page count: the client hears it later
    else:
        fee = estimate_fee(
            pages=int(values.get("pages") or 0),  # electronic: no per-page charge, pages don't change it
            form=values["form"],
            delivery=values["delivery"],
            jurisdiction=practice.jurisdiction,
            schedule=practice.fees,
            postage_cents=round(practice.fees.postage_estimate * 100) if values["delivery"] == "mail" else 0,
            summary_agreed=values.get("summary_agreed") == "yes",
            third_party=bool(values.get("third_party")),
        )
        fee_cents, fee_notes = fee.total_cents, list(fee.notes)
    request = RecordsRequest(
        reference=next_reference(session, today.year),
        client_label=values["client_label"],
        client_contact=contact_token,
        requester_type=values["requester_type"],
        therapy_format=values["therapy_format"],
        received_on=received,
        access_type=values["access_type"],
        scope_note=values.get("scope"),
        form=values["form"],
        delivery=values["delivery"],
        language=values.get("language") or practice.language,
        third_party_direction=bool(values.get("third_party")),
        jurisdiction=practice.jurisdiction,
        due_on=deadline.due,
        extended_due_on=deadline.extended_due,
        deadline={**deadline.to_json(), "fee": {"total_cents": fee_cents, "notes": fee_notes}},
        fee_estimate_cents=fee_cents,
        status="open",
        step="acknowledge",
        owner_id=owner.id,
    )
    session.add(request)
    session.flush()
    audit.record(session, request_id=request.id, actor=owner.name, action="request.created", after=snapshot(request))
    return request


def update_request(session: Session, request: RecordsRequest, fields: dict[str, Any], *, actor: str) -> RecordsRequest:
    """Change fields of a request and append an audit event with what changed (before and after)."""
    fields = {k: audit.normalise(v) if isinstance(v, dict | list) else v for k, v in fields.items()}  # JSON columns
    before = {k: getattr(request, k) for k in fields}
    changed = {k: v for k, v in fields.items() if before[k] != v}
    if not changed:
        return request
    for key, value in changed.items():
        setattr(request, key, value)
    request.updated_at = utcnow()
    session.add(request)
    session.flush()
    audit.record(
        session,
        request_id=request.id,
        actor=actor,
        action="request.updated",
        before={k: before[k] for k in changed},
        after=changed,
    )
    return request


def set_checklist(
    session: Session, request: RecordsRequest, done: list[str], all_items: list[str], *, actor: str
) -> None:
    """Mark review checklist items done (and create the open ones), audited."""
    member = session.exec(select(Member).where(Member.name == actor)).first()
    existing = {i.key: i for i in session.exec(select(ChecklistItem).where(ChecklistItem.request_id == request.id))}
    newly_done = []
    for key in all_items:
        item = existing.get(key) or ChecklistItem(request_id=request.id, key=key)  # type: ignore[arg-type]
        if key in done and not item.done:
            item.done, item.done_at, item.done_by_id = True, utcnow(), member.id if member else None
            newly_done.append(key)
        session.add(item)
    if newly_done:
        session.flush()
        audit.record(session, request_id=request.id, actor=actor, action="checklist.done", after={"items": newly_done})


def find(session: Session, reference: str) -> RecordsRequest | None:
    return session.exec(select(RecordsRequest).where(RecordsRequest.reference == reference.upper())).first()


def open_requests(session: Session, owner_id: int | None = None) -> list[RecordsRequest]:
    """Open requests, soonest deadline first; all of them when owner_id is None."""
    query = select(RecordsRequest).where(
        col(RecordsRequest.status).in_(OPEN_STATUSES + ("released", "denied", "partially_denied"))
    )
    query = query.where(RecordsRequest.closed_on.is_(None))  # type: ignore[union-attr]
    if owner_id is not None:
        query = query.where(RecordsRequest.owner_id == owner_id)
    return sorted(session.exec(query).all(), key=lambda r: r.effective_due)
