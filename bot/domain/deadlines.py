"""Deadlines for a records request: every applicable rule's due date and the effective (earliest) one."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from bot.domain.calendars import calendar_for, is_working_day, uncounted_holidays
from bot.domain.jurisdictions import ACCESS_TYPES, HIPAA, STATE_NAMES, STATE_RULES, Counting, Rule
from bot.text import say

if TYPE_CHECKING:
    from bot.config import CustomRule

__all__ = [
    "ACCESS_TYPES",
    "DeadlineResult",
    "RuleDue",
    "UnknownAccess",
    "UnknownJurisdiction",
    "add_days",
    "days_left",
    "due_dates",
    "extension_allowed",
    "is_business_day",
    "normalize_access",
    "normalize_jurisdiction",
]


class UnknownJurisdiction(ValueError):
    """The jurisdiction is not US or a two-letter code for a state or DC."""


class UnknownAccess(ValueError):
    """The access type is not one of ACCESS_TYPES."""


@dataclass(frozen=True)
class RuleDue:
    """One rule's due date for this request; extension_days is how many days one extension adds, or None."""

    name: str
    due: date
    extended_due: date
    days: int
    counting: str  # "calendar" | "working"
    citation: str
    extension_days: int | None
    # the rule's own words for its one extension: a macro suffix in templates/letters/_words.*.j2 (extension_rule)
    extension_key: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "due": self.due.isoformat(),
            "extended_due": self.extended_due.isoformat(),
            "days": self.days,
            "counting": self.counting,
            "citation": self.citation,
        }


@dataclass(frozen=True)
class DeadlineResult:
    """All rules for one request, the effective deadline and the furthest one extension can reach."""

    received: date
    jurisdiction: str
    access: str
    due: date
    extended_due: date
    rules: tuple[RuleDue, ...]
    notes: tuple[str, ...]
    calendar: str | None = None  # the working-day calendar used (a key of calendars.CALENDARS), if any rule needs one

    def to_json(self) -> dict[str, Any]:
        return {
            "received": self.received.isoformat(),
            "jurisdiction": self.jurisdiction,
            "access": self.access,
            "due": self.due.isoformat(),
            "extended_due": self.extended_due.isoformat(),
            "rules": [rule.to_json() for rule in self.rules],
            "notes": list(self.notes),
            "calendar": self.calendar,
            "extension_rule": self.extension_rule(),
        }

    def extension_possible(self) -> bool:
        return self.extended_due > self.due

    def extension_rule(self) -> str | None:
        """The rule whose limit the one extension reaches (its words go in the extension notice), or None."""
        if not self.extension_possible():
            return None
        binding = [r for r in self.rules if r.extension_key and r.extended_due == self.extended_due]
        return binding[0].extension_key if binding else None


def normalize_jurisdiction(code: str) -> str:
    """Upper-case a jurisdiction code; raise UnknownJurisdiction (with a readable message) if it is not known."""
    cleaned = code.strip().upper()
    if cleaned not in STATE_NAMES:
        raise UnknownJurisdiction(say("deadlines.unknown_jurisdiction", given=code, accepted=tuple(STATE_NAMES)))
    return cleaned


def normalize_access(access: str) -> str:
    """Lower-case an access type; raise UnknownAccess (with a readable message) if it is not known."""
    cleaned = access.strip().lower()
    if cleaned not in ACCESS_TYPES:
        raise UnknownAccess(say("deadlines.unknown_access", given=access, accepted=ACCESS_TYPES))
    return cleaned


@lru_cache(maxsize=512)
def _holidays(jurisdiction: str, year: int) -> dict[date, str]:
    # Imported here: the package is slow to import and only working-day rules need it.
    import holidays

    subdiv = None if jurisdiction == "US" else jurisdiction
    return dict(holidays.US(subdiv=subdiv, years=year).items())


def holiday_name(day: date, jurisdiction: str) -> str | None:
    """The official holiday on this day in the jurisdiction (federal for US), if any."""
    return _holidays(jurisdiction, day.year).get(day)


def is_business_day(day: date, jurisdiction: str) -> bool:
    """The office is open: for advice on when to send (every listed holiday counts as closed, the cautious side)."""
    return day.weekday() < 5 and holiday_name(day, jurisdiction) is None


def add_days(received: date, days: int, counting: Counting | str, jurisdiction: str) -> date:
    """Day 0 is the day of receipt; working days skip weekends and the holidays of the state's own statute only.

    Uncertain days count as working days, so a deadline can only come earlier (bot.domain.calendars).
    """
    if counting == "calendar":
        return received + timedelta(days=days)
    day, counted = received, 0
    while counted < days:
        day += timedelta(days=1)
        if is_working_day(day, jurisdiction):
            counted += 1
    return day


def last_business_day_before(day: date, jurisdiction: str) -> date:
    day -= timedelta(days=1)
    while not is_business_day(day, jurisdiction):
        day -= timedelta(days=1)
    return day


def _rule_due(rule: Rule, received: date, jurisdiction: str) -> RuleDue:
    due = add_days(received, rule.days, rule.counting, jurisdiction)
    if rule.extension is None:
        extended, extension_days = due, None
    else:
        extended = max(due, add_days(received, rule.extension.total_days, rule.extension.counting, jurisdiction))
        extension_days = (extended - due).days
    key = rule.extension.key if rule.extension else None
    return RuleDue(rule.name, due, extended, rule.days, rule.counting, rule.citation, extension_days, key)


def _state_rules(jurisdiction: str, access: str, hipaa_covered: bool) -> list[Rule]:
    return [
        rule
        for rule in STATE_RULES.get(jurisdiction, ())
        if access in rule.access and (rule.for_covered_entities is None or rule.for_covered_entities == hipaa_covered)
    ]


def _state_notes(jurisdiction: str, access: str, hipaa_covered: bool, applied: list[Rule]) -> list[str]:
    if jurisdiction == "US":
        return []
    name = STATE_NAMES[jurisdiction]
    notes = [say(f"deadlines.{rule.note}") for rule in applied if rule.note]
    if jurisdiction == "GA":
        notes.append(say("deadlines.georgia_mental_health"))
    elif jurisdiction == "MT" and hipaa_covered:
        notes.append(say("deadlines.montana_covered"))
    elif not applied and jurisdiction == "NY" and access == "copy":
        notes.append(say("deadlines.verify_ny_copies"))
    elif not applied:
        notes.append(say("deadlines.verify_state_law", state=name))
    return notes


def due_dates(
    received: date,
    jurisdiction: str = "US",
    access: str = "copy",
    *,
    hipaa_covered: bool = True,
    custom_rules: Sequence[CustomRule] = (),
) -> DeadlineResult:
    """Every applicable deadline for a request received on `received`, and the effective (earliest) one.

    HIPAA is always included; a shorter state or practice deadline wins, and HIPAA's extension never
    reaches past a shorter rule's own limit (45 CFR 160.202/160.203).
    """
    jurisdiction = normalize_jurisdiction(jurisdiction)
    access = normalize_access(access)

    applied = _state_rules(jurisdiction, access, hipaa_covered)
    rules = [_rule_due(rule, received, jurisdiction) for rule in applied]
    for custom in custom_rules:
        if access in custom.access:
            due = add_days(received, custom.days, custom.counting, jurisdiction)
            rules.append(RuleDue(custom.name, due, due, custom.days, custom.counting, custom.citation, None))
    rules.append(_rule_due(HIPAA, received, jurisdiction))

    due = min(rule.due for rule in rules)
    extended_due = min(rule.extended_due for rule in rules)

    notes = _state_notes(jurisdiction, access, hipaa_covered, applied)
    working = [r for r in rules if r.counting == "working"]
    calendar = calendar_for(jurisdiction).key if working else None
    if working:
        notes.extend(_calendar_notes(jurisdiction, received, max(max(r.due, r.extended_due) for r in working)))
    if not hipaa_covered:
        notes.append(say("deadlines.not_covered_entity"))
    if not is_business_day(due, jurisdiction):
        notes.append(
            say(
                "deadlines.send_before_closed_day",
                due=due,
                holiday=holiday_name(due, jurisdiction),
                send_by=last_business_day_before(due, jurisdiction),
            )
        )
    return DeadlineResult(
        received=received,
        jurisdiction=jurisdiction,
        access=access,
        due=due,
        extended_due=extended_due,
        rules=tuple(sorted(rules, key=lambda r: (r.due, r.extended_due, r.name))),
        notes=tuple(notes),
        calendar=calendar,
    )


def _calendar_notes(jurisdiction: str, received: date, last: date) -> list[str]:
    """Name the calendar the working days were counted on, and every holiday in the period it did not count."""
    cal, state = calendar_for(jurisdiction), STATE_NAMES[jurisdiction]
    notes = [say(f"deadlines.calendar_{cal.key}" if cal.checked else "deadlines.calendar_unchecked", state=state)]
    for day, name, not_listed in uncounted_holidays(jurisdiction, received, last):
        notes.append(say("deadlines.holiday_not_counted", day=day, name=name, not_listed=not_listed, state=state))
    return notes


def extension_allowed(result: DeadlineResult, today: date, *, already_extended: bool) -> bool:
    """One extension per request, only where a rule allows it, with notice sent by the original deadline."""
    return not already_extended and result.extension_possible() and today <= result.due


def days_left(due: date, today: date) -> int:
    """Days from today until the due date: 0 on the day, negative once overdue."""
    return (due - today).days
