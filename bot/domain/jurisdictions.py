"""Confirmed access deadlines per jurisdiction, as data (from reference/records-access-rules.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Counting = Literal["calendar", "working"]

ACCESS_TYPES = ("copy", "inspect", "summary")

STATE_NAMES = {
    "US": "United States",
    "AL": "Alabama",
    "AK": "Alaska",
    "AZ": "Arizona",
    "AR": "Arkansas",
    "CA": "California",
    "CO": "Colorado",
    "CT": "Connecticut",
    "DE": "Delaware",
    "DC": "District of Columbia",
    "FL": "Florida",
    "GA": "Georgia",
    "HI": "Hawaii",
    "ID": "Idaho",
    "IL": "Illinois",
    "IN": "Indiana",
    "IA": "Iowa",
    "KS": "Kansas",
    "KY": "Kentucky",
    "LA": "Louisiana",
    "ME": "Maine",
    "MD": "Maryland",
    "MA": "Massachusetts",
    "MI": "Michigan",
    "MN": "Minnesota",
    "MS": "Mississippi",
    "MO": "Missouri",
    "MT": "Montana",
    "NE": "Nebraska",
    "NV": "Nevada",
    "NH": "New Hampshire",
    "NJ": "New Jersey",
    "NM": "New Mexico",
    "NY": "New York",
    "NC": "North Carolina",
    "ND": "North Dakota",
    "OH": "Ohio",
    "OK": "Oklahoma",
    "OR": "Oregon",
    "PA": "Pennsylvania",
    "RI": "Rhode Island",
    "SC": "South Carolina",
    "SD": "South Dakota",
    "TN": "Tennessee",
    "TX": "Texas",
    "UT": "Utah",
    "VT": "Vermont",
    "VA": "Virginia",
    "WA": "Washington",
    "WV": "West Virginia",
    "WI": "Wisconsin",
    "WY": "Wyoming",
}


@dataclass(frozen=True)
class Extension:
    """The furthest one extension may reach, counted from the day the request was received."""

    total_days: int
    counting: Counting
    # the rule's own words for the extension notice: a key of extension_rule in templates/letters/_words.*.j2
    key: str = "hipaa"


@dataclass(frozen=True)
class Rule:
    """One deadline rule: N days from receipt for the listed access types."""

    name: str
    days: int
    counting: Counting
    citation: str
    access: tuple[str, ...]
    extension: Extension | None = None
    # None: applies whatever the practice's HIPAA status; False: only to providers that are not covered entities.
    for_covered_entities: bool | None = None
    # Name of a macro in templates/deadlines.j2 to add as a note whenever this rule applies.
    note: str | None = None


HIPAA = Rule(
    name="HIPAA right of access",
    days=30,
    counting="calendar",
    citation="45 CFR 164.524(b)(2)",
    access=ACCESS_TYPES,
    extension=Extension(total_days=60, counting="calendar"),
)

# Only rules the fact sheet marks confirmed. "Not stated" day types are counted as calendar days, as the sheet advises.
STATE_RULES: dict[str, tuple[Rule, ...]] = {
    "CA": (
        Rule("California copies", 15, "calendar", "Cal. HSC 123110(b)", ("copy",)),
        Rule("California inspection", 5, "working", "Cal. HSC 123110(a)", ("inspect",)),
        Rule(
            "California summary",
            10,
            "working",
            "Cal. HSC 123130(a)",
            ("summary",),
            # only for a record of extraordinary length or a discharge within the last 10 days (123130(a))
            extension=Extension(total_days=30, counting="calendar", key="ca_summary"),
        ),
    ),
    "TX": (
        Rule("Texas mental-health records", 15, "calendar", "Tex. HSC 611.008(a)", ("copy", "inspect")),
        Rule("Texas electronic health record copy", 15, "working", "Tex. HSC 181.102(a)", ("copy",)),
    ),
    "NY": (Rule("New York inspection", 10, "calendar", "N.Y. PHL 18(2)", ("inspect",)),),
    "WA": (
        Rule(
            "Washington examine or copy",
            15,
            "working",
            "RCW 70.02.080(1)",
            ("copy", "inspect"),
            # written reasons and the earliest date, no later than 21 working days after the request (RCW 70.02.080(1))
            extension=Extension(total_days=21, counting="working", key="wa"),
        ),
    ),
    "NJ": (
        Rule(
            "New Jersey psychologists",
            30,
            "calendar",
            "N.J.A.C. 13:42-8.3(b)",
            ("copy", "summary"),
            note="nj_psychologists_rule",
        ),
    ),
    "IL": (
        Rule(
            "Illinois practitioners' records",
            30,
            "calendar",
            "735 ILCS 5/8-2001",
            ("copy",),
            note="il_extension_unconfirmed",
        ),
    ),
    "DC": (
        Rule("District of Columbia mental-health records", 30, "calendar", "D.C. Code 7-1205.01", ("copy", "inspect")),
    ),
    "MT": (
        Rule(
            "Montana (providers that are not HIPAA covered entities)",
            10,
            "calendar",
            "Mont. Code 50-16-541",
            ("copy", "inspect"),
            extension=Extension(total_days=21, counting="calendar", key="mt"),
            for_covered_entities=False,
        ),
    ),
}
