"""The practice's numbers for a month and a year: volume, timeliness, extensions, denials, open work. No PHI."""

from __future__ import annotations

from collections import Counter
from datetime import date
from statistics import median
from typing import Any

from sqlmodel import Session, select

from bot.services.requests import OPEN_STATUSES
from bot.store import Draft, RecordsRequest

DENIED = ("denied", "partially_denied")
DENIAL_LETTERS = ("denial", "partial_denial")


def practice_report(session: Session, today: date) -> dict[str, Any]:
    """Counts and rates only: references, labels and names never appear."""
    everything = session.exec(select(RecordsRequest)).all()
    answered_on = _answered_on(session)
    this_year = [r for r in everything if r.received_on.year == today.year]
    this_month = [r for r in this_year if r.received_on.month == today.month]
    open_now = [r for r in everything if r.status in OPEN_STATUSES]
    denied = _denied_ids(session)  # a denial stays a denial after the request is closed

    def period(rows: list[RecordsRequest]) -> dict[str, Any]:
        done = [(r, answered_on[r.id]) for r in rows if r.id in answered_on]
        on_time = [r for r, day in done if day <= r.effective_due]
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
        "overdue_now": sum(1 for r in open_now if r.effective_due < today),
        "complaints": sum(1 for r in everything if r.outcome == "board_complaint"),
    }


def _answered_on(session: Session) -> dict[int, date]:
    """When each request was answered: the copy released, or the denial letter sent (whichever came first)."""
    days: dict[int, date] = {}
    for request in session.exec(select(RecordsRequest).where(RecordsRequest.released_on.is_not(None))):  # type: ignore[union-attr]
        days[request.id] = request.released_on
    # the dates only: the letters' bodies are never read for a count
    letters = select(Draft.request_id, Draft.sent_on).where(Draft.kind.in_(DENIAL_LETTERS), Draft.sent_on.is_not(None))  # type: ignore[attr-defined,union-attr]
    for request_id, sent_on in session.exec(letters):
        days[request_id] = min(days.get(request_id, sent_on), sent_on)
    return days


def _denied_ids(session: Session) -> set[int]:
    letters = select(Draft.request_id).where(Draft.kind.in_(DENIAL_LETTERS), Draft.sent_on.is_not(None))  # type: ignore[attr-defined,union-attr]
    return set(session.exec(letters).all())
