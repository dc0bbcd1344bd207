"""Which days stop a working-day clock: each state's statutory holiday list with its own observance rule.

The `holidays` package gives the dates; each calendar below keeps only the holidays its statute lists on which state
offices close, and moves them only as that statute moves them. Anything uncertain is counted as a working day, so a
deadline can only come earlier (reference sheet, "Counting conventions": Cal. Gov. Code 6700, 6701).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import Literal

# How a statute moves a holiday that falls on a weekend.
Observance = Literal["none", "sunday_to_monday", "weekend_to_weekday", "ca_6701"]


@dataclass(frozen=True)
class Calendar:
    """A jurisdiction's working-day calendar: the `holidays` names it counts, and its observance rule."""

    key: str  # names the calendar in templates/deadlines.j2 (calendar_<key>, uncertain_<key>)
    subdiv: str | None
    counted: frozenset[str]  # holiday names (as the `holidays` package spells them) that stop the clock
    not_listed: frozenset[str]  # names the package gives that the statute does not list: plain working days
    observance: Observance
    checked: bool  # False: the statute was not checked, so only weekends stop the clock
    # name -> first year the statute lists it (an amendment); earlier years count the day as a working day
    since: tuple[tuple[str, int], ...] = ()


_FEDERAL_NAMES = frozenset(
    {
        "New Year's Day",
        "Martin Luther King Jr. Day",
        "Washington's Birthday",
        "Memorial Day",
        "Juneteenth National Independence Day",
        "Independence Day",
        "Labor Day",
        "Columbus Day",
        "Veterans Day",
        "Thanksgiving Day",
        "Christmas Day",
    }
)

CALENDARS: dict[str, Calendar] = {
    # 5 U.S.C. 6103: federal holidays, Saturday -> Friday, Sunday -> Monday (what the package does by default).
    "US": Calendar("US", None, _FEDERAL_NAMES, frozenset(), "weekend_to_weekday", True),
    # Cal. Gov. Code 6700 lists these and state offices close on them. Lincoln Day, Admission Day, Native American
    # Day, Columbus Day, Good Friday afternoon (and, in newer text, Juneteenth) are listed but offices stay open:
    # uncertain, so working days. Susan B. Anthony Day, the day after Thanksgiving and Diwali are not in 6700.
    # 6701 moves a Sunday holiday to Monday and Nov 11 on a Saturday to Friday, nothing else.
    "CA": Calendar(
        "CA",
        "CA",
        frozenset(
            {
                "New Year's Day",
                "Martin Luther King Jr. Day",
                "Presidents' Day",
                "Cesar Chavez Day",
                "Memorial Day",
                "Independence Day",
                "Labor Day",
                "Veterans Day",
                "Thanksgiving Day",
                "Christmas Day",
            }
        ),
        frozenset({"Susan B. Anthony Day", "Day After Thanksgiving", "Diwali"}),
        "ca_6701",
        True,
    ),
    # Tex. Gov. Code 662.003(a) national holidays, and the three state holidays (b) on which offices close
    # (662.004(b)): the Friday after Thanksgiving, Dec 24 and Dec 26. The other state and optional holidays keep
    # offices staffed: uncertain, so working days. Texas does not move a weekend holiday.
    "TX": Calendar(
        "TX",
        "TX",
        frozenset(
            {
                "New Year's Day",
                "Martin Luther King Jr. Day",
                "Presidents' Day",
                "Memorial Day",
                "Independence Day",
                "Labor Day",
                "Veterans Day",
                "Thanksgiving Day",
                "Friday After Thanksgiving",
                "Christmas Eve",
                "Christmas Day",
                "Day After Christmas",
            }
        ),
        frozenset(),
        "none",
        True,
    ),
    # RCW 1.16.050(1): its legal holidays (Juneteenth added by the 2021 amendment, from 2022); a Sunday holiday moves to
    # Monday, a Saturday one to Friday.
    "WA": Calendar(
        "WA",
        "WA",
        frozenset(
            {
                "New Year's Day",
                "Martin Luther King Jr. Day",
                "Presidents' Day",
                "Memorial Day",
                "Juneteenth National Independence Day",
                "Independence Day",
                "Labor Day",
                "Veterans Day",
                "Thanksgiving Day",
                "Native American Heritage Day",
                "Christmas Day",
            }
        ),
        frozenset(),
        "weekend_to_weekday",
        True,
        since=(("Juneteenth National Independence Day", 2022),),
    ),
}


def calendar_for(jurisdiction: str) -> Calendar:
    """The checked calendar, or one of weekends only for a state whose holiday statute was not checked."""
    return CALENDARS.get(jurisdiction) or Calendar(jurisdiction, jurisdiction, frozenset(), frozenset(), "none", False)


def _names(label: str) -> list[str]:
    return [name.strip() for name in label.split(";")]


@lru_cache(maxsize=512)
def _package_days(subdiv: str | None, year: int) -> tuple[tuple[date, str], ...]:
    # Imported here: the package is slow to import and only working-day rules need it.
    import holidays

    return tuple(holidays.US(subdiv=subdiv, years=year, observed=False).items())


def _observed(day: date, name: str, observance: Observance) -> date:
    if observance == "weekend_to_weekday":
        return day + timedelta(days=1) if day.weekday() == 6 else day - timedelta(days=1) if day.weekday() == 5 else day
    if observance in ("sunday_to_monday", "ca_6701") and day.weekday() == 6:
        return day + timedelta(days=1)
    if observance == "ca_6701" and name == "Veterans Day" and day.weekday() == 5:
        return day - timedelta(days=1)
    return day


@lru_cache(maxsize=512)
def statutory_holidays(jurisdiction: str, year: int) -> dict[date, str]:
    """Days in `year` that stop the working-day clock in the jurisdiction (weekdays only), with their names."""
    cal = calendar_for(jurisdiction)
    if not cal.checked:
        return {}
    since = dict(cal.since)
    days: dict[date, str] = {}
    # the year before and after too: a Jan 1 on a Saturday is observed on Dec 31 of the year before
    for y in (year - 1, year, year + 1):
        for day, label in _package_days(cal.subdiv, y):
            for name in _names(label):
                if name in cal.counted and day.year >= since.get(name, day.year):
                    observed = _observed(day, name, cal.observance)
                    if observed.year == year and observed.weekday() < 5:
                        days[observed] = name
    return days


def uncounted_holidays(jurisdiction: str, start: date, end: date) -> list[tuple[date, str, bool]]:
    """Package holidays on weekdays in (start, end] this calendar counts as working days: (day, name, not_listed).

    not_listed is True when the statute does not list the day at all, False when it is only uncertain.
    """
    cal = calendar_for(jurisdiction)
    found: list[tuple[date, str, bool]] = []
    for year in range(start.year, end.year + 1):
        counted = statutory_holidays(jurisdiction, year)
        for day, label in _package_days(cal.subdiv, year):
            if not (start < day <= end) or day.weekday() >= 5 or day in counted:
                continue
            for name in _names(label):
                if name not in cal.counted or day.year < dict(cal.since).get(name, day.year):
                    found.append((day, name, name in cal.not_listed))
    return sorted(set(found))


def is_working_day(day: date, jurisdiction: str) -> bool:
    """A weekday that is not a holiday on the jurisdiction's statutory calendar."""
    return day.weekday() < 5 and day not in statutory_holidays(jurisdiction, day.year)
