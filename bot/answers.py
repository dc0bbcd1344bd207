"""Reading what people type or click: choices by number or words, dates, bounded text, forms."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, timedelta
from typing import Any

from bot.engine import Invalid
from bot.prompts import Choice, FormField
from bot.text import say

MAX_TEXT = 2000


def read_choice(raw: Any, choices: tuple[Choice, ...]) -> str:
    """A choice by its number (1-based), its value or its label, or words of its label ("release everything", "Dana").

    Words that fit several options are not guessed at: the answer names the options they could mean.
    """
    given = str(raw if raw is not None else "").strip()
    if given.isascii() and given.isdecimal() and len(given) <= 4 and 1 <= int(given) <= len(choices):
        return choices[int(given) - 1].value
    wanted = given.lower()
    for choice in choices:
        if wanted in (choice.value.lower(), choice.value.lower().replace("_", " "), choice.label.lower()):
            return choice.value
    fits = _fitting(wanted, choices)
    if len(fits) == 1:
        return fits[0].value
    if len(fits) > 1:
        raise Invalid(say("ambiguous_choice", given=given, options=[c.label for c in fits]))
    raise Invalid(say("unknown_choice", given=given, accepted=[c.label for c in choices], count=len(choices)))


def _words(text: str) -> list[str]:
    return re.findall(r"[^\W_]+", text.lower())


def _fitting(wanted: str, choices: tuple[Choice, ...]) -> list[Choice]:
    """Options whose label has every word typed: whole words first, then beginnings of words."""
    typed = _words(wanted)
    if not typed:
        return []

    def has_all(choice: Choice, whole: bool) -> bool:
        words = _words(choice.label)
        return all(any(w == t if whole else len(t) >= 3 and w.startswith(t) for w in words) for t in typed)

    return [c for c in choices if has_all(c, True)] or [c for c in choices if has_all(c, False)]


def read_checklist(raw: Any, choices: tuple[Choice, ...]) -> list[str]:
    """Any number of choices: a list, or numbers/values separated by commas; 'none' or blank for none."""
    if isinstance(raw, list | tuple):
        items = [str(x) for x in raw]
    else:
        text = str(raw or "").strip()
        items = [] if text.lower() in ("", "none", "-") else [p for p in text.replace(";", ",").split(",") if p.strip()]
    picked: list[str] = []
    for item in items:
        value = read_choice(item, choices)
        if value not in picked:
            picked.append(value)
    return picked


_today: ContextVar[date | None] = ContextVar("today", default=None)
US_DATE = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")  # 11/24/2026: month first, as US practices write
RELATIVE = {"today": 0, "yesterday": -1, "tomorrow": 1}


@contextmanager
def today_is(today: date) -> Iterator[None]:
    """While reading answers, "today" and "yesterday" mean these dates (the practice's today, not the server's)."""
    token = _today.set(today)
    try:
        yield
    finally:
        _today.reset(token)


def read_date(raw: Any, *, not_after: date | None = None, not_before: date | None = None, what: str = "date") -> date:
    """A date as people type it (2026-11-24, 11/24/2026, today, yesterday) within the given bounds."""
    if isinstance(raw, date):
        given = raw
    else:
        text = str(raw or "").strip()
        given = _parse_date(text)
        if given is None:
            raise Invalid(say("bad_date", given=text))
    if not_before and given < not_before:
        raise Invalid(say("date_too_early", what=what, given=given, earliest=not_before))
    if not_after and given > not_after:
        raise Invalid(say("date_too_late", what=what, given=given, latest=not_after))
    return given


def read_text(raw: Any, *, max_length: int = 500, required: bool = True) -> str:
    """Free text, trimmed, within a sane length."""
    text = str(raw if raw is not None else "").strip()
    if required and not text:
        raise Invalid(say("empty_text"))
    if len(text) > max_length:
        raise Invalid(say("text_too_long", length=len(text), max_length=max_length))
    return text


def _parse_date(text: str) -> date | None:
    word = text.lower()
    if word in RELATIVE:
        return (_today.get() or date.today()) + timedelta(days=RELATIVE[word])
    us = US_DATE.match(text)
    try:
        if us:
            return date(int(us[3]), int(us[1]), int(us[2]))
        if len(text) == 10:
            return date.fromisoformat(text)
    except ValueError:
        return None
    return None


MAX_NUMBER = 100_000
AMOUNT = re.compile(r"^\$?(\d{1,6})(?:\.(\d{1,2}))?$")  # 6.50, $6.5, 12: dollars and cents, nothing cleverer


def read_count(raw: Any) -> int:
    """A whole number such as a page count (ASCII digits only: "²" is a digit to Python, not to us)."""
    text = str(raw).strip()
    # the length first: Python refuses to read a number of over 4300 digits at all
    if not (text.isascii() and text.isdecimal()) or len(text) > 6 or int(text) > MAX_NUMBER:
        raise Invalid(say("bad_count", given=text if len(text) <= 20 else text[:19] + "…", most=MAX_NUMBER))
    return int(text)


def read_amount(raw: Any) -> int:
    """A dollar amount, as whole cents: finite, not negative, sane."""
    text = str(raw).strip()
    match = AMOUNT.match(text)
    if not match or int(match[1]) > MAX_NUMBER:
        raise Invalid(say("bad_amount", given=text))
    return int(match[1]) * 100 + int((match[2] or "").ljust(2, "0"))


def read_field(spec: FormField, raw: Any, **date_bounds: Any) -> Any:
    """One form field by its kind; blank optional fields give their default (or None)."""
    blank = raw is None or (isinstance(raw, str) and not raw.strip())
    if blank and spec.default is not None:
        raw = spec.default  # read like a typed answer, so a default is the same type as an answer
    elif blank and not spec.required:
        return None
    if spec.kind in ("choice", "member"):
        return read_choice(raw, spec.choices)
    if spec.kind == "checklist":
        return read_checklist(raw, spec.choices)
    if spec.kind == "date":
        return read_date(raw, **date_bounds.get(spec.name, {}), what=spec.label)
    if spec.kind == "count":
        return read_count(raw)
    if spec.kind == "amount":
        return read_amount(raw)
    return read_text(raw, max_length=spec.max_length, required=spec.required)


def condition_holds(spec: FormField, controller: FormField, raw: Any) -> bool:
    """Whether the answer `raw` to `controller` (blank: its default) is one that `spec.only_if` asks for."""
    if spec.only_if is None:
        return True
    _name, wanted = spec.only_if
    accepted = tuple(wanted) if isinstance(wanted, list | tuple) else (wanted,)
    try:
        answer = read_field(controller, raw)
    except Invalid:
        return False
    chosen = answer if isinstance(answer, list | tuple) else (answer,)
    return any(value in accepted for value in chosen)


def applicable_fields(fields: tuple[FormField, ...], raw: dict[str, Any]) -> tuple[FormField, ...]:
    """The fields of a form that apply to these answers, in the form's order.

    A field with only_if applies when its controlling field applies itself and was answered (or defaults) with one of
    the values named; so the outside reviewer's name goes with the reviewer, and the reviewer with a reviewable ground.
    Answers not given are read as blank, i.e. as the field's default (a form shown before anything is chosen).
    """
    by_name = {f.name: f for f in fields}
    shown: set[str] = set()
    for _ in range(len(fields) + 1):  # each round settles one more level of "only if"
        now = {
            f.name
            for f in fields
            if f.only_if is None
            or (f.only_if[0] in shown and condition_holds(f, by_name[f.only_if[0]], raw.get(f.only_if[0])))
        }
        if now == shown:
            break
        shown = now
    return tuple(f for f in fields if f.name in shown)


def read_form_so_far(
    raw: Any, fields: tuple[FormField, ...], **date_bounds: Any
) -> tuple[dict[str, Any], dict[str, str]]:
    """The fields that read well, and each other field's problem by name (a form checked while it is filled in).

    A field that does not apply (only_if) is read as left blank, whatever came with it (a stale modal or card may
    carry it): its default, or None, and never a problem.
    """
    if not isinstance(raw, dict):
        raise Invalid(say("form_expected"))
    applies = {f.name for f in applicable_fields(fields, raw)}
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for spec in fields:
        if spec.name not in applies:
            try:
                values[spec.name] = read_field(spec, None)
            except Invalid:
                values[spec.name] = None
            continue
        try:
            values[spec.name] = read_field(spec, raw.get(spec.name), **date_bounds)
        except Invalid as exc:
            errors[spec.name] = exc.reason
    return values, errors


def raise_form_problems(errors: dict[str, str], fields: tuple[FormField, ...]) -> None:
    """When there are problems: Invalid naming the first field's (in the form's order), carrying every field's."""
    if not errors:
        return
    first = next((f for f in fields if f.name in errors), None)
    label, reason = (first.label, errors[first.name]) if first else ("", next(iter(errors.values())))
    raise Invalid(say("form_field_problem", label=label, reason=reason), fields=errors)


def read_form(raw: Any, fields: tuple[FormField, ...], **date_bounds: Any) -> dict[str, Any]:
    """All fields of a form; every field's problem is reported at once, by field name."""
    values, errors = read_form_so_far(raw, fields, **date_bounds)
    raise_form_problems(errors, fields)
    return values
