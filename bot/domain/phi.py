"""Client details in free text: what a client label or a consult question must not carry into chat."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from datetime import date, timedelta

import phonenumbers

# The kinds of client detail a consult question is checked for, in the order a refusal names them.
DETAIL_KINDS = ("name", "email", "phone", "birth_date", "address")

_WORD = r"[0-9a-z]"
_NOT_WORDS = re.compile(r"[^0-9a-z]+")
_EMAIL = re.compile(r"[\w.+'-]+\s*@\s*[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}\b")
_BIRTH_WORDS = re.compile(r"\b(?:dob|d\.o\.b|born|birth\w*|nacid[oa]|nacimiento|cumpleanos)\b")
_MONTH_NAMES = (
    "january february march april may june july august september october november december".split(),
    "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre".split(),
)
_MONTHS = {
    **{name: i for names in _MONTH_NAMES for i, name in enumerate(names, 1)},
    **{name[:3]: i for names in _MONTH_NAMES for i, name in enumerate(names, 1)},
    "sept": 9,
    "setiembre": 9,
}
_MONTH = rf"(?P<month>{'|'.join(sorted(_MONTHS, key=len, reverse=True))})\.?"
_DATES = (
    re.compile(r"\b(?P<year>\d{4})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})\b"),
    re.compile(r"\b(?P<m>\d{1,2})[-/.](?P<d>\d{1,2})[-/.](?P<year>\d{4}|\d{2})\b"),
    re.compile(rf"\b{_MONTH}\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<year>\d{{4}})\b"),
    re.compile(rf"\b(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+|de\s+)?{_MONTH}\s+(?:de\s+)?(?P<year>\d{{4}})\b"),
)
# A house number, one to three words of street name (not "the", "to", ...), and a street type. Types that are also
# ordinary words ("way", "court", "drive") count only after a capitalised name ("12 Ocean Way").
_STREET_NAME = r"(?:(?!(?:the|a|an|to|for|of|in|on|at|and|or|by|with|from)\s)[\w.'-]+\s+)"
_STREET_TYPES = r"street|st|avenue|ave|road|rd|boulevard|blvd|lane|ln|highway|hwy|parkway|pkwy"
_AMBIGUOUS_TYPES = r"way|court|ct|drive|dr|place|pl|circle|cir|square|sq|terrace|ter|trail|trl|plaza"
_ADDRESSES = (
    re.compile(rf"\b\d{{1,6}}[a-z]?\s+{_STREET_NAME}{{1,3}}(?:{_STREET_TYPES})\b", re.IGNORECASE),
    re.compile(rf"\b\d{{1,6}}[a-z]?\s+(?:[A-Z0-9][\w.'-]*\s+){{1,3}}(?i:{_AMBIGUOUS_TYPES})\b"),
    re.compile(r"\b(?:calle|avenida|av\.|carrera|paseo|camino)\s+(?:[\w.'-]+\s+){1,3}(?:n[o.º°]\s*)?\d{1,6}\b", re.I),
    re.compile(r"\b(?:p\.?\s?o\.?\s+box|apt\.?|apartment|suite|ste\.?)\s*#?\s*\d+", re.IGNORECASE),
    re.compile(r"\b[A-Z]{2}\s+\d{5}(?:-\d{4})?\b"),  # state and ZIP code
)
_NAME_WORDS = re.compile(r"[a-z]{3,}")


def plain(text: str, invisible: str = "") -> str:
    """Text as a reader sees it: accents off, invisible characters (zero-width spaces, joiners) made `invisible`."""
    decomposed = unicodedata.normalize("NFKD", text)
    kept = (c for c in decomposed if unicodedata.category(c)[0] != "M")
    return "".join(invisible if unicodedata.category(c) == "Cf" else c for c in kept)


def normalise(text: str, invisible: str = "") -> str:
    """plain() and case-folded: "María" and "MA\u200bRIA" both read "maria"."""
    return plain(text, invisible).casefold()


def names_label(text: str, label: str) -> bool:
    """Whether text mentions the client label, however it is spaced, cased, accented or punctuated (AB-17, ab 17)."""
    wanted = _NOT_WORDS.sub("", normalise(label))
    if len(wanted) < 2:  # one letter identifies no one, and would block every question with "a" in it
        return False
    # any spacing or punctuation inside it (ab17, a.b. 17), but only as a whole word: "Ann" is not in "annual"
    spaced = "[^0-9a-z]*".join(map(re.escape, wanted))
    return re.search(rf"(?<!{_WORD}){spaced}(?!{_WORD})", normalise(text)) is not None


def looks_identifying(label: str) -> bool:
    """A label that reads like a name, a date, an email or a phone number: with client details off it stays out."""
    said = normalise(label)
    # "Jane\u200bDoe" is two words to a reader; "Ja\u200bne Doe" is two words once the invisible one is gone
    words = max(len(_NAME_WORDS.findall(normalise(label, invisible))) for invisible in ("", " "))
    formatted_phone = any(not m.raw_string.isdigit() for m in _phone_numbers(said))  # "Chart 4411223" is fine
    return (
        bool(re.search(r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}", said))
        or "@" in said
        or "dob" in said
        or words >= 2
        or formatted_phone
    )


def details_in(text: str, *, today: date, names: Iterable[str] = ()) -> tuple[str, ...]:
    """The kinds of client detail text seems to contain (see DETAIL_KINDS); names are the client's own, if known."""
    shown = plain(text)
    said = shown.casefold()
    found = {
        "name": any(_says_name(said, name) for name in names),
        "email": bool(_EMAIL.search(said)),
        "phone": bool(_phone_numbers(said)),
        "birth_date": _has_birth_date(said, today),
        "address": any(pattern.search(shown) for pattern in _ADDRESSES),
    }
    return tuple(kind for kind in DETAIL_KINDS if found[kind])


def _phone_numbers(text: str) -> list[phonenumbers.PhoneNumberMatch]:
    # POSSIBLE, not VALID: made-up and unassigned numbers ("555-867-5309") still identify someone in a question
    return list(phonenumbers.PhoneNumberMatcher(text, "US", leniency=phonenumbers.Leniency.POSSIBLE))


def _says_name(said: str, name: str) -> bool:
    """The whole name in order, or any part of it long enough to be a name on its own ("Lopez", not "Li")."""
    parts = _NOT_WORDS.split(normalise(name))
    parts = [p for p in parts if p]
    if not parts:
        return False
    whole = r"[^0-9a-z]*".join(map(re.escape, parts))
    alone = [re.escape(p) for p in parts if len(p) >= 3]
    pattern = "|".join([whole, *alone])
    return re.search(rf"(?<!{_WORD})(?:{pattern})(?!{_WORD})", said) is not None


def _has_birth_date(said: str, today: date) -> bool:
    """A date beside "born"/"DOB", or a full date more than a year back (a request's own dates are recent)."""
    dates = [d for pattern in _DATES for m in pattern.finditer(said) if (d := _date_of(m, today)) is not None]
    if not dates:
        return False
    return bool(_BIRTH_WORDS.search(said)) or any(d < today - timedelta(days=366) for d in dates)


def _date_of(match: re.Match[str], today: date) -> date | None:
    parts = match.groupdict()
    month = int(parts["m"]) if parts.get("m") else _MONTHS.get(parts["month"])
    year = int(parts["year"])
    if year < 100:  # two-digit years: the most recent century that keeps the date in the past
        year += 2000 if 2000 + year <= today.year else 1900
    day = int(parts["d"])
    if month is None:
        return None
    for m, d in ((month, day), (day, month)):  # 03/04/1987 may be either order; both are dates
        try:
            return date(year, m, d)
        except ValueError:
            continue
    return None
