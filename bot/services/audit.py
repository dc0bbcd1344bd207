"""Append-only, hash-chained audit trail: record events, append under contention, verify the chain."""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from pathlib import PurePath
from typing import Any

from pydantic import BaseModel
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session, select

from bot.store import AuditEvent, as_utc, session_scope, utcnow

GENESIS = "0" * 64
"""The prev_hash of the first event: nothing came before it."""

_MISSING = object()


class AuditConflict(RuntimeError):
    """Appending kept colliding with other writers; the bounded retries ran out."""


@dataclass(frozen=True)
class ChainReport:
    """The result of walking the chain: intact, or the first event that does not check out and why.

    reason is a code, worded for people in templates/audit.j2:
    "content_changed" (the row's fields no longer match its hash) or
    "link_broken" (it does not follow the row before it: a row was deleted, inserted or moved).
    """

    ok: bool
    checked: int
    first_bad_id: int | None = None
    reason: str | None = None
    first_bad_at: datetime | None = None
    first_bad_action: str | None = None
    head_hash: str | None = None


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return as_utc(value).isoformat() if value.tzinfo else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal | PurePath):
        return str(value)
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    raise TypeError(f"{type(value).__name__} cannot be stored in the audit trail")


def normalise(value: Any) -> Any:
    """value as the JSON column will hand it back (dates -> ISO strings, tuples -> lists, keys -> str)."""
    return json.loads(json.dumps(value, default=_plain, allow_nan=False))


def _as_dict(obj: Any) -> dict[str, Any]:
    if obj is None:
        return {}
    if isinstance(obj, BaseModel):
        return obj.model_dump()
    return dict(obj)


def diff(
    before_obj: Mapping[str, Any] | BaseModel | None, after_obj: Mapping[str, Any] | BaseModel | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only the fields that changed: (their old values, their new values), JSON-normalised.

    A field present on one side only appears on that side only.
    """
    before, after = normalise(_as_dict(before_obj)), normalise(_as_dict(after_obj))
    old: dict[str, Any] = {}
    new: dict[str, Any] = {}
    for key in sorted(before.keys() | after.keys()):
        was, now = before.get(key, _MISSING), after.get(key, _MISSING)
        if was == now:
            continue
        if was is not _MISSING:
            old[key] = was
        if now is not _MISSING:
            new[key] = now
    return old, new


def compute_hash(
    *,
    prev_hash: str,
    request_id: int | None,
    actor: str,
    at: datetime,
    action: str,
    before: dict[str, Any],
    after: dict[str, Any],
) -> str:
    """sha256 over a canonical JSON of the event's fields and the previous event's hash."""
    canonical = json.dumps(
        {
            "prev_hash": prev_hash,
            "request_id": request_id,
            "actor": actor,
            "at": as_utc(at).isoformat(timespec="microseconds"),
            "action": action,
            "before": before,
            "after": after,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _hash_of(event: AuditEvent) -> str:
    return compute_hash(
        prev_hash=event.prev_hash,
        request_id=event.request_id,
        actor=event.actor,
        at=event.at,
        action=event.action,
        before=event.before,
        after=event.after,
    )


def latest_hash(session: Session) -> str:
    """The hash the next event must link to (GENESIS on an empty trail)."""
    last = session.exec(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)).first()  # type: ignore[union-attr]
    return last or GENESIS


def record(
    session: Session,
    *,
    request_id: int | None,
    actor: str,
    action: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event to the chain inside the caller's transaction and flush it.

    Run it in the same transaction as the change it records, so both commit or neither does.
    prev_hash is UNIQUE: if another writer appended since this transaction read the head, the
    flush (or, on SQLite, the write lock) fails with IntegrityError/OperationalError and the whole
    transaction must be retried from scratch; append_with_retry does that.
    """
    at = utcnow()
    before_json, after_json = normalise(before or {}), normalise(after or {})
    prev_hash = latest_hash(session)
    event = AuditEvent(
        request_id=request_id,
        actor=actor,
        at=at,
        action=action,
        before=before_json,
        after=after_json,
        prev_hash=prev_hash,
        hash="",
    )
    event.hash = _hash_of(event)  # the same function verify() recomputes with
    session.add(event)
    session.flush()
    return event


def append_with_retry(
    engine: Engine,
    *,
    request_id: int | None,
    actor: str,
    action: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    change: Callable[[Session], None] | None = None,
    attempts: int = 10,
) -> AuditEvent:
    """record() in its own transaction, retried in a fresh transaction when another writer got there first.

    change, if given, runs first in the same transaction (the edit the event describes), so it is
    retried and committed together with the event. Raises AuditConflict after `attempts` collisions.
    """
    last_error: Exception | None = None
    for attempt in range(attempts):
        try:
            with session_scope(engine) as session:
                if change is not None:
                    change(session)
                return record(session, request_id=request_id, actor=actor, action=action, before=before, after=after)
        except (IntegrityError, OperationalError) as exc:
            # IntegrityError: same prev_hash as a concurrent append. OperationalError: SQLite's
            # "database is locked" when a write lock cannot be taken; both clear on a fresh try.
            last_error = exc
            time.sleep(min(0.2, 0.005 * 2**attempt) * random.uniform(0.5, 1.5))
    raise AuditConflict(f"could not append to the audit trail after {attempts} attempts") from last_error


def verify(session: Session) -> ChainReport:
    """Walk the chain by id, recompute every hash and check every link; stop at the first bad event.

    Detects an edited field in any row, a deleted row anywhere but at the end, and a row inserted
    or moved. A deleted LAST row leaves a shorter but valid chain, and someone with write access
    could rewrite the whole tail; neither shows from the chain alone. head_hash is reported so it
    can be noted outside the database (the case file prints it) and compared later.
    `checked` counts the events examined, including the first bad one.
    """
    expected_prev = GENESIS
    checked = 0
    rows = session.exec(select(AuditEvent).order_by(AuditEvent.id).execution_options(yield_per=500))  # type: ignore[arg-type]
    for event in rows:
        checked += 1
        reason = None
        if event.prev_hash != expected_prev:
            reason = "link_broken"
        elif _hash_of(event) != event.hash:
            reason = "content_changed"
        if reason:
            return ChainReport(
                ok=False,
                checked=checked,
                first_bad_id=event.id,
                reason=reason,
                first_bad_at=event.at,
                first_bad_action=event.action,
            )
        expected_prev = event.hash
    return ChainReport(ok=True, checked=checked, head_hash=None if checked == 0 else expected_prev)
