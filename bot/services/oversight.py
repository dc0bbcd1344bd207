"""The practice view: every open request for supervisors and admins, finding a request, reassigning its owner."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import update
from sqlmodel import Session, col, select

from bot.config import PracticeSettings
from bot.services import audit, requests
from bot.services.reminders import plan_reminders
from bot.store import Consult, FlowRun, Member, RecordsRequest, Reminder, utcnow

OVERSEERS = ("supervisor", "admin")
COMPLAINT = "board_complaint"


@dataclass(frozen=True)
class Row:
    """One request as the list shows it: no client details beyond the practice's own label."""

    request: RecordsRequest
    owner: str
    days_left: int
    complaint: bool


def sees_everything(member: Member) -> bool:
    return member.role in OVERSEERS


def visible(session: Session, member: Member, today: date, *, mine_only: bool = False) -> list[Row]:
    """Open requests (and any under a complaint, closed or not), soonest deadline first: the practice's for
    supervisors and admins, their own for a clinician (and for anyone, with mine_only)."""
    owner_id = None if sees_everything(member) and not mine_only else member.id
    found = {r.id: r for r in requests.open_requests(session, owner_id)}
    complaints = select(RecordsRequest).where(RecordsRequest.outcome == COMPLAINT)
    if owner_id is not None:
        complaints = complaints.where(RecordsRequest.owner_id == owner_id)
    for request in session.exec(complaints):
        found.setdefault(request.id, request)
    return _rows(session, sorted(found.values(), key=lambda r: (r.outcome != COMPLAINT, r.effective_due)), today)


def find(session: Session, member: Member, text: str, today: date) -> list[Row]:
    """Requests whose reference or client label holds the text, open or closed, that this member may see."""
    wanted = text.strip().lower()
    query = select(RecordsRequest)
    if not sees_everything(member):
        query = query.where(RecordsRequest.owner_id == member.id)
    hits = [r for r in session.exec(query) if wanted in r.reference.lower() or wanted in r.client_label.lower()]
    return _rows(session, sorted(hits, key=lambda r: r.reference), today)


def reassign(
    session: Session, request: RecordsRequest, new_owner: Member, *, actor: Member, practice: PracticeSettings
) -> str:
    """Give the request (its open run and pending reminders too) to another member; audited. Returns the old owner."""
    old = session.get(Member, request.owner_id) if request.owner_id else None
    old_name = old.name if old else ""
    requests.update_request(session, request, {"owner_id": new_owner.id}, actor=actor.name)
    audit.record(
        session,
        request_id=request.id,
        actor=actor.name,
        action="request.reassigned",
        before={"owner": old_name},
        after={"owner": new_owner.name},
    )
    # as `take` does: the run is the new owner's (old step messages go stale), and waiting consults answer to them
    session.execute(
        update(FlowRun)
        .where(col(FlowRun.request_id) == request.id, col(FlowRun.status) == "active")
        .values(member_id=new_owner.id, version=FlowRun.version + 1, updated_at=utcnow())
    )
    session.execute(
        update(Consult)
        .where(col(Consult.request_id) == request.id, col(Consult.status) == "waiting")
        .values(asked_by_id=new_owner.id)
    )
    pending = select(Reminder).where(
        Reminder.request_id == request.id, Reminder.status == "pending", Reminder.target_kind == "member"
    )
    for reminder in session.exec(pending):
        if reminder.consult_id is None:  # a consult's nudge stays with the colleague who was asked
            reminder.target = new_owner.name
            session.add(reminder)
    plan_reminders(session, request, practice, now=utcnow())
    return old_name


def _rows(session: Session, found: list[RecordsRequest], today: date) -> list[Row]:
    names = {m.id: m.name for m in session.exec(select(Member))}
    return [Row(r, names.get(r.owner_id, ""), (r.effective_due - today).days, r.outcome == COMPLAINT) for r in found]
