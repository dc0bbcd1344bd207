"""The one storage module: SQLModel tables, the database engine, sessions and schema checks."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint, event
from sqlalchemy.engine import Engine
from sqlmodel import Field, Session, SQLModel, create_engine


def utcnow() -> datetime:
    """Aware UTC now: storage is UTC everywhere (SQLModel's UTCDateTime refuses naive values)."""
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """Any datetime as aware UTC; a naive one is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _json() -> Any:
    return Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


def _json_list() -> Any:
    return Field(default_factory=list, sa_column=Column(JSON, nullable=False))


PLATFORM_ID_FIELDS = {"slack": "slack_user_id", "teams": "teams_user_id"}  # a member's id on each chat platform


class Member(SQLModel, table=True):
    """A practice member: clinician, supervisor or admin, with their chat identities."""

    __tablename__ = "members"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True, unique=True, max_length=80)
    role: str = Field(default="clinician", max_length=20)
    licensed: bool = True
    slack_user_id: str | None = Field(default=None, index=True, max_length=40)
    teams_user_id: str | None = Field(default=None, index=True, max_length=200)
    email: str | None = Field(default=None, max_length=200)
    active: bool = True

    def platform_id(self, platform: str) -> str | None:
        """Who this member is on a chat platform (None where they are not on it)."""
        field = PLATFORM_ID_FIELDS.get(platform)
        return getattr(self, field) if field else None


class ReferenceCounter(SQLModel, table=True):
    """Last request number used per year, so references (RR-2026-0042) are never reused."""

    __tablename__ = "reference_counters"
    year: int = Field(primary_key=True)
    last: int = 0


class RecordsRequest(SQLModel, table=True):
    """One client's request for their records, from receipt to close."""

    __tablename__ = "records_requests"
    id: int | None = Field(default=None, primary_key=True)
    reference: str = Field(index=True, unique=True, max_length=20)
    client_label: str = Field(max_length=40)
    client_contact: str | None = None  # Fernet token of {"name","email","address"}; never plaintext
    requester_type: str = Field(default="client", max_length=30)
    therapy_format: str = Field(default="individual", max_length=20)
    parties: list[dict[str, Any]] = _json_list()
    received_on: date
    access_type: str = Field(default="copy", max_length=10)
    scope_from: date | None = None
    scope_to: date | None = None
    scope_note: str | None = Field(default=None, max_length=500)
    form: str = Field(default="electronic", max_length=20)
    delivery: str = Field(default="portal", max_length=30)
    language: str = Field(default="en", max_length=5)
    third_party_direction: bool = False
    direction_on_file: bool = False
    email_risk_accepted_on: date | None = None
    jurisdiction: str = Field(default="US", max_length=2)
    due_on: date
    extended_due_on: date | None = None
    deadline: dict[str, Any] = _json()
    target_on: date | None = None
    extension_reason: str | None = Field(default=None, max_length=1000)
    extension_notice_sent_on: date | None = None
    extended_to: date | None = None
    acknowledged_on: date | None = None
    fee_estimate_cents: int | None = None
    status: str = Field(default="open", index=True, max_length=20)
    step: str = Field(default="intake", max_length=40)
    owner_id: int | None = Field(default=None, foreign_key="members.id", index=True)
    outcome: str | None = Field(default=None, max_length=40)
    outcome_note: str | None = Field(default=None, max_length=1000)
    released_on: date | None = None
    release: dict[str, Any] = _json()
    denial: dict[str, Any] = _json()
    closed_on: date | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)

    @property
    def effective_due(self) -> date:
        """The date the practice must act by now: the extended date once a valid extension was sent."""
        return self.extended_to or self.due_on

    @property
    def answered_on(self) -> date | None:
        """The day the client was answered: the records went out, or the denial letter did."""
        sent = (self.denial or {}).get("sent_on")
        return self.released_on or (date.fromisoformat(sent) if sent else None)

    @property
    def extension_available(self) -> bool:
        """A rule allows one extension (its latest date is past the deadline) and it has not been taken."""
        later = self.extended_due_on is not None and self.extended_due_on > self.due_on
        return later and self.extended_to is None and self.extension_notice_sent_on is None

    def extension_open(self, today: date) -> bool:
        """The extension can still be taken: available, and its notice can reach the client by the deadline."""
        return self.extension_available and today <= self.due_on


class ChecklistItem(SQLModel, table=True):
    """One review check on a request (signed notes, psychotherapy notes kept apart, ...)."""

    __tablename__ = "checklist_items"
    __table_args__ = (UniqueConstraint("request_id", "key"),)
    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="records_requests.id", index=True)
    key: str = Field(max_length=40)
    done: bool = False
    note: str | None = Field(default=None, max_length=1000)
    done_by_id: int | None = Field(default=None, foreign_key="members.id")
    done_at: datetime | None = None


class Consult(SQLModel, table=True):
    """A question put to a colleague, the supervisor, the insurer's risk line or the association."""

    __tablename__ = "consults"
    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="records_requests.id", index=True)
    step: str = Field(max_length=40)
    kind: str = Field(max_length=20)  # colleague | supervisor | insurance | association
    asked_by_id: int | None = Field(default=None, foreign_key="members.id")
    asked_member_id: int | None = Field(default=None, foreign_key="members.id", index=True)
    question: str = Field(max_length=1000)
    status: str = Field(default="waiting", index=True, max_length=20)  # waiting | answered | withdrawn
    answer: str | None = Field(default=None, max_length=20)  # can_help | call_me | not_now | spoke
    note: str | None = Field(default=None, max_length=1000)
    spoken_to: str | None = Field(default=None, max_length=120)
    reference_number: str | None = Field(default=None, max_length=80)
    asked_at: datetime = Field(default_factory=utcnow)
    answered_at: datetime | None = None
    spoken_on: date | None = None  # phone consults: the day of the call
    nudged_at: datetime | None = None


class Draft(SQLModel, table=True):
    """A letter or note drafted from a template, and when it went out."""

    __tablename__ = "drafts"
    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="records_requests.id", index=True)
    kind: str = Field(max_length=40)
    language: str = Field(default="en", max_length=5)
    body: str
    created_by_id: int | None = Field(default=None, foreign_key="members.id")
    created_at: datetime = Field(default_factory=utcnow)
    sent_on: date | None = None


class Reminder(SQLModel, table=True):
    """A reminder due at a time, claimed atomically by one poller, sent once."""

    __tablename__ = "reminders"
    # the poller's claim filters on status and due time together; at 100k requests this is 12 ms instead of 1.6 s
    __table_args__ = (Index("ix_reminders_status_due_at", "status", "due_at"),)
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=40)
    request_id: int | None = Field(default=None, foreign_key="records_requests.id", index=True)
    consult_id: int | None = Field(default=None, foreign_key="consults.id")
    due_at: datetime = Field(index=True)
    target_kind: str = Field(default="member", max_length=10)  # member | channel
    target: str = Field(max_length=200)
    status: str = Field(default="pending", max_length=12)
    attempts: int = 0
    claimed_by: str | None = Field(default=None, max_length=80)
    claimed_until: datetime | None = None
    dedupe_key: str = Field(unique=True, max_length=200)
    payload: dict[str, Any] = _json()
    sent_at: datetime | None = None
    last_error: str | None = Field(default=None, max_length=500)


class FlowRun(SQLModel, table=True):
    """Where a conversation stands: its step, the answers so far and a version that every answer must match."""

    __tablename__ = "flow_runs"
    id: int | None = Field(default=None, primary_key=True)
    flow: str = Field(max_length=40)
    request_id: int | None = Field(default=None, foreign_key="records_requests.id", index=True)
    member_id: int | None = Field(default=None, foreign_key="members.id", index=True)
    step: str = Field(max_length=40)
    answers: dict[str, Any] = _json()
    version: int = 0
    status: str = Field(default="active", index=True, max_length=12)
    surface: dict[str, Any] = _json()
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class InboundKey(SQLModel, table=True):
    """An inbound interaction already handled (Slack trigger_id, action ts, Teams activity id)."""

    __tablename__ = "inbound_keys"
    key: str = Field(primary_key=True, max_length=255)
    received_at: datetime = Field(default_factory=utcnow)


class OutboxMessage(SQLModel, table=True):
    """Something the bot must say, written with the change that causes it; claimed by one sender, sent once."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_status_due_at", "status", "due_at"),
        Index("ix_outbox_destination", "platform", "destination", "status"),  # "anything older still waiting?"
    )
    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow)
    due_at: datetime = Field(default_factory=utcnow)
    status: str = Field(default="pending", max_length=12)  # pending | claimed | sent | failed
    attempts: int = 0
    claimed_by: str | None = Field(default=None, max_length=80)
    claimed_until: datetime | None = None
    platform: str = Field(max_length=20)  # slack | teams | email
    destination_kind: str = Field(max_length=10)  # member | channel | email | update
    destination: str = Field(max_length=255)  # platform user id, channel id, email address
    member_id: int | None = Field(default=None, foreign_key="members.id")
    purpose: str = Field(max_length=20)  # step | notice | consult | channel | reminder | email | update | problem
    run_id: int | None = Field(default=None, foreign_key="flow_runs.id")
    request_id: int | None = Field(default=None, foreign_key="records_requests.id", index=True)
    payload: dict[str, Any] = _json()
    dedupe_key: str | None = Field(default=None, unique=True, max_length=200)
    held: bool = False  # a form the adapter shows itself (a modal); sent as a message only if it can't
    sent_at: datetime | None = None
    last_error: str | None = Field(default=None, max_length=500)
    result: dict[str, Any] = _json()


class PlatformConversation(SQLModel, table=True):
    """Where to reach a member or channel on a platform (Slack DM channel id, Teams conversation reference)."""

    __tablename__ = "platform_conversations"
    __table_args__ = (UniqueConstraint("platform", "key"),)
    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=20)
    key: str = Field(max_length=255)  # "dm:<platform user id>" or "channel:records"
    reference: dict[str, Any] = _json()
    updated_at: datetime = Field(default_factory=utcnow)


class AuditEvent(SQLModel, table=True):
    """Append-only, hash-chained record of every change to a request."""

    __tablename__ = "audit_events"
    id: int | None = Field(default=None, primary_key=True)
    request_id: int | None = Field(default=None, foreign_key="records_requests.id", index=True)
    actor: str = Field(max_length=80)
    at: datetime = Field(default_factory=utcnow)
    action: str = Field(max_length=60)
    before: dict[str, Any] = _json()
    after: dict[str, Any] = _json()
    prev_hash: str = Field(max_length=64, unique=True)  # two writers appending at once: one must retry
    hash: str = Field(max_length=64, unique=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")  # durable under WAL; skips an fsync per commit
    cursor.close()


def make_engine(url: str) -> Engine:
    """An engine for SQLite (WAL, foreign keys) or PostgreSQL (postgresql+psycopg://)."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 10}, hide_parameters=True
        )  # statement parameters can hold client details: never in logs
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, hide_parameters=True)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One short transaction: commit on success, roll back on error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
