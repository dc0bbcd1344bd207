"""The practice's numbers for a month and a year: volume, timeliness, extensions, denials, open work. No PHI."""

from __future__ import annotations

from collections import Counter
from datetime import date
from statistics import median
from typing import Any

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from bot.services.requests import OPEN_STATUSES
from bot.store import Draft, RecordsRequest

DENIED = ("denied", "partially_denied")
DENIAL_LETTERS = ("denial", "partial_denial")
COMPLAINT = "board_complaint"
COLUMNS = (
    RecordsRequest.id,
    RecordsRequest.received_on,
    RecordsRequest.status,
    RecordsRequest.step,
    RecordsRequest.released_on,
    RecordsRequest.due_on,
    RecordsRequest.extended_to,
)


def practice_report(session: Session, today: date) -> dict[str, Any]:
    """Counts and rates only: references, labels and names never appear."""
    # the columns the numbers need, of this year's and the open requests only: no JSON columns decoded, no ORM
    # objects, no older history (a supervisor's Home tab computes this on every open; at 2,000 requests over two
    # years, loading every whole row took ~80% of that)
    counted = or_(
        col(RecordsRequest.received_on) >= date(today.year, 1, 1), col(RecordsRequest.status).in_(OPEN_STATUSES)
    )
    everything = session.exec(select(*COLUMNS).where(counted)).all()
    complaints = select(func.count()).select_from(RecordsRequest).where(RecordsRequest.outcome == COMPLAINT)
    answered_on, denied = _letters(session)  # a denial stays a denial after the request is closed
    for r in everything:
        if r.released_on is not None:
            answered_on[r.id] = min(answered_on.get(r.id, r.released_on), r.released_on)
    this_year = [r for r in everything if r.received_on.year == today.year]
    this_month = [r for r in this_year if r.received_on.month == today.month]
    open_now = [r for r in everything if r.status in OPEN_STATUSES]

    def period(rows: list[Any]) -> dict[str, Any]:
        done = [(r, answered_on[r.id]) for r in rows if r.id in answered_on]
        on_time = [r for r, day in done if day <= (r.extended_to or r.due_on)]  # RecordsRequest.effective_due
        released = [(r.released_on - r.received_on).days for r in rows if r.released_on]
        return {
            "requests": len(rows),
            "answered": len(done),
            "on_time_percent": round(100 * len(on_time) / len(done), 1) if done else None,
            "median_days_to_release": median(released) if released else None,
            "extensions": sum(1 for r in rows if r.extended_to),
            "denials": sum(1 for r in rows if r.status in DENIED or r.id in denied),
            "cancelled": sum(1 for r in rows if r.status == "cancelled"),
        }

    return {
        "as_of": today.isoformat(),
        "month": {"period": f"{today:%Y-%m}", **period(this_month)},
        "year": {"period": str(today.year), **period(this_year)},
        "open_by_step": dict(sorted(Counter(r.step for r in open_now).items())),
        "open": len(open_now),
        "overdue_now": sum(1 for r in open_now if (r.extended_to or r.due_on) < today),
        "complaints": session.exec(complaints).one(),
    }


def _letters(session: Session) -> tuple[dict[int, date], set[int]]:
    """The sent denial letters: the day each request's first one went out, and the requests denied. The dates
    only: the letters' bodies are never read for a count. (A request is answered when its copy was released or
    its denial letter sent, whichever came first.)"""
    letters = select(Draft.request_id, Draft.sent_on).where(Draft.kind.in_(DENIAL_LETTERS), Draft.sent_on.is_not(None))  # type: ignore[attr-defined,union-attr]
    days: dict[int, date] = {}
    for request_id, sent_on in session.exec(letters):
        days[request_id] = min(days.get(request_id, sent_on), sent_on)
    return days, set(days)
