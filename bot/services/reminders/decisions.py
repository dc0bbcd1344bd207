"""Deciding at send time: skip, defer for quiet hours, or the PHI-free messages to send."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlmodel import Session

from bot import text
from bot.config import PracticeSettings
from bot.prompts import Outbound, Prompt
from bot.services.reminders.common import (
    FINISHED,
    Decision,
    before_is_stale,
    extended_due,
    extension_allowed,
    local_moment,
)
from bot.services.reminders.planning import owner_name
from bot.store import Consult, RecordsRequest, Reminder, as_utc


def in_quiet_hours(moment: datetime, practice: PracticeSettings) -> bool:
    start, end = practice.reminders.quiet_hours_start, practice.reminders.quiet_hours_end
    local = as_utc(moment).astimezone(practice.tz).time()
    if start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end  # the usual case: the quiet spans midnight


def quiet_hours_end(moment: datetime, practice: PracticeSettings) -> datetime:
    """The next end of quiet hours after `moment`, in UTC."""
    tz, end = practice.tz, practice.reminders.quiet_hours_end
    local = as_utc(moment).astimezone(tz)
    candidate = datetime.combine(local.date(), end, tzinfo=tz)
    if candidate <= local:
        candidate = datetime.combine(local.date() + timedelta(days=1), end, tzinfo=tz)
    return candidate.astimezone(UTC)


def _notice(target_kind: str, target: str, body: str, header: str) -> Outbound:
    return Outbound(target_kind=target_kind, target=target, prompts=(Prompt(kind="notice", text=body, header=header),))  # type: ignore[arg-type]


def _missing(request: RecordsRequest) -> str | None:
    """The signed document a copy for someone else still waits on ("authorization" or "direction"), if any."""
    if not request.third_party_direction or request.direction_on_file:
        return None
    kind = ((request.release or {}).get("direction") or {}).get("kind")
    return "authorization" if kind == "authorization" or request.form == "paper" else "direction"


def _deadline_messages(
    kind: str, request: RecordsRequest, owner: str | None, practice: PracticeSettings, today: date
) -> list[tuple[str, Outbound]]:
    """The channel post (PHI-free: reference, dates, step, owner) and the DMs for one deadline reminder."""
    due = request.effective_due
    ctx: dict[str, Any] = {
        "reference": request.reference,
        "due": due,
        "days_left": (due - today).days,
        "step": request.step,
        "owner": owner,
    }
    if kind == "ack":
        ctx["received"] = request.received_on
    elif kind == "extension":
        ctx["due"], ctx["extended_due"] = request.due_on, extended_due(request)
    elif kind == "followup":
        ctx["released"], ctx["denied"] = request.answered_on, request.released_on is None
    header = text.say("reminders.header", **ctx)
    out = [
        ("channel", _notice("channel", practice.records_channel, text.say(f"reminders.channel_{kind}", **ctx), header))
    ]
    if kind == "overdue":
        contact = practice.privacy_contact
        out = [
            (
                "channel",
                _notice(
                    "channel",
                    practice.records_channel,
                    text.say(
                        "reminders.channel_overdue",
                        **ctx,
                        privacy_name=contact.name_or_title if contact else None,
                        privacy_phone=contact.phone if contact else None,
                    ),
                    header,
                ),
            )
        ]
    if owner:
        dm = text.say(
            f"reminders.dm_{kind}", **ctx, can_extend=extension_allowed(request), missing_direction=_missing(request)
        )
        out.append((f"dm:{owner}", _notice("member", owner, dm, header)))
    if kind == "overdue":
        for supervisor in practice.supervisors:
            if supervisor.name != owner:
                body = text.say("reminders.supervisor_overdue", **ctx)
                out.append((f"dm:{supervisor.name}", _notice("member", supervisor.name, body, header)))
    return out


def _next_overdue_row(reminder: Reminder, request: RecordsRequest, practice: PracticeSettings, now: datetime) -> dict:
    """The next overdue reminder, never in the past (a sweep after downtime does not queue a burst)."""
    sched, tz = practice.reminders, practice.tz
    day = as_utc(reminder.due_at).astimezone(tz).date() + timedelta(days=sched.overdue_every_days)
    while local_moment(day, sched.send_hour, tz) <= now:
        day += timedelta(days=sched.overdue_every_days)
    return {
        "kind": "overdue",
        "dedupe_key": f"{request.id}:overdue:{day}",
        "due_at": local_moment(day, sched.send_hour, tz),
        "request_id": request.id,
        "target_kind": reminder.target_kind,
        "target": reminder.target,
        "payload": {"reference": request.reference, "for_due": request.effective_due.isoformat()},
    }


def decide(session: Session, reminder: Reminder, practice: PracticeSettings, now: datetime) -> Decision:
    """Re-read what the reminder is about and decide now: skip, send (some now, DMs after quiet hours) or defer."""
    if reminder.kind == "consult_nudge":
        return _decide_nudge(session, reminder, practice, now)
    request = session.get(RecordsRequest, reminder.request_id) if reminder.request_id else None
    if request is None:
        return Decision(skip="request gone")
    today = now.astimezone(practice.tz).date()
    kind, payload = reminder.kind, reminder.payload or {}
    if kind == "followup":
        if request.status in ("cancelled", "closed") or request.answered_on is None:
            return Decision(skip=f"request {request.status}")
        if payload.get("released_on") != request.answered_on.isoformat():
            return Decision(skip="release date changed", replan=True)
    else:
        if request.status in FINISHED:
            return Decision(skip=f"request {request.status}")
        due = request.effective_due
        if kind == "ack" and request.acknowledged_on is not None:
            return Decision(skip="acknowledged")
        if kind == "before":
            if payload.get("for_due") != due.isoformat():
                return Decision(skip="deadline changed", replan=True)
            if before_is_stale(payload["days_before"], due, today, practice.reminders.before_deadline_days):
                return Decision(skip="superseded")
        if kind == "extension":
            if not extension_allowed(request) or payload.get("for_due") != request.due_on.isoformat():
                return Decision(skip="extension taken or not allowed")
            if today > request.due_on:
                return Decision(skip="extension window closed")
        if kind == "overdue":
            if payload.get("for_due") != due.isoformat():
                return Decision(skip="deadline changed", replan=True)
            if today <= due:
                return Decision(skip="not overdue")
    owner = owner_name(session, request)
    decision = Decision(outbounds=_deadline_messages(kind, request, owner, practice, today))
    if kind == "overdue":
        decision.next_rows.append(_next_overdue_row(reminder, request, practice, now))
    elif in_quiet_hours(now, practice):
        # the channel post goes now; DMs wait for the morning (overdue ones do not wait)
        decision.outbounds = [(k, o) for k, o in decision.outbounds if o.target_kind == "channel"]
        decision.defer_until = quiet_hours_end(now, practice)
    return decision


def _decide_nudge(session: Session, reminder: Reminder, practice: PracticeSettings, now: datetime) -> Decision:
    from bot.services.consults import nudge_messages

    consult = session.get(Consult, reminder.consult_id) if reminder.consult_id else None
    if consult is None or consult.status != "waiting":
        return Decision(skip="consult answered or withdrawn")
    request = session.get(RecordsRequest, consult.request_id)
    if request is None or request.status in FINISHED:
        return Decision(skip="request finished")
    if in_quiet_hours(now, practice):
        return Decision(defer_until=quiet_hours_end(now, practice))
    return Decision(outbounds=nudge_messages(session, consult, practice), nudged_consult=consult.id)
