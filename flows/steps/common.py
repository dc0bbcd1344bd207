"""Words and helpers every records-request step uses: the answer vocabularies and prompt builders."""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from typing import Any

from bot import text
from bot.domain.deadlines import is_business_day, last_business_day_before
from bot.engine import Ctx
from bot.prompts import Choice, Prompt
from bot.text import say

EARLIEST_RECEIPT = date(1990, 1, 1)

REQUESTERS = ("client", "personal_representative", "parent_of_minor")
ACCESS = ("copy", "inspect", "summary")
FORMATS = ("individual", "couples", "family", "group")
FORMS = ("electronic", "paper")
DELIVERIES = ("pickup", "mail", "portal", "encrypted_email", "unencrypted_email")
LANGUAGES = ("en", "es")
CONSENT = ("given", "pending", "refused")
PSYCHOTHERAPY_NOTES = ("none", "separate_withhold", "separate_release", "in_chart")
OTHERS_INFO = ("none", "consented", "withhold")
CONSULT_KINDS = ("colleague", "supervisor", "insurance", "association", "none")
DENIAL_GROUNDS = (
    "psychotherapy_notes",
    "litigation",
    "confidential_source",
    "endanger_life",
    "harm_to_other_person",
    "personal_representative_harm",
)
REVIEWABLE_GROUNDS = ("endanger_life", "harm_to_other_person", "personal_representative_harm")
CONTACT_FIELDS = ("client_name", "client_email", "client_address")
REVIEW_ITEMS = ("complete", "signed", "errors_addendum", "psychotherapy_notes", "others_info")
MULTI_PARTY_ITEM = "party_authorizations"
REPRESENTATIVE_ITEM = "representative_checked"


def t(key: str, **context: Any) -> str:
    """A sentence from templates/records_request.j2."""
    return say(f"records_request.{key}", **context)


def choices(group: str, values: tuple[str, ...]) -> tuple[Choice, ...]:
    return _choices(group, tuple(values), text.practice_templates())


@lru_cache(maxsize=1024)
def _choices(group: str, values: tuple[str, ...], _templates: str | None) -> tuple[Choice, ...]:
    # option labels are fixed words from the templates: made once per set of templates, not on every question
    return tuple(Choice(v, t("label", group=group, value=v)) for v in values)


def header(ctx: Ctx) -> str | None:
    request = ctx.request
    if request is None:
        return None
    left = (request.effective_due - ctx.today).days
    return t(
        "header",
        reference=request.reference,
        due=request.effective_due,
        days_left=left,
        step=ctx.state.step,
        status=request.status,
    )


def send_by(ctx: Ctx) -> date:
    """The day to act by: the deadline, or the last business day before it when the office is closed on it."""
    due, jurisdiction, closed = ctx.request.effective_due, ctx.request.jurisdiction, set(ctx.practice.closed_days)
    day = due if is_business_day(due, jurisdiction) else last_business_day_before(due, jurisdiction)
    while day in closed and day > ctx.today:  # the practice's own closed days too (never before today)
        day = last_business_day_before(day, jurisdiction)
    return day


def last_day(ctx: Ctx) -> bool:
    """A day left to act (counted to the last business day by the deadline): offer only what can still be done."""
    request = ctx.request
    return request is not None and 0 <= (send_by(ctx) - ctx.today).days <= 1 and ctx.today <= request.effective_due


def last_day_note(ctx: Ctx) -> str:
    """What is still possible with a day left (empty otherwise)."""
    if not last_day(ctx):
        return ""
    request, act_by = ctx.request, send_by(ctx)
    return t(
        "last_day",
        due=request.effective_due,
        act_by=act_by,
        days_left=(act_by - ctx.today).days,
        can_extend=request.extension_open(ctx.today),
        reference=request.reference,
    )


def ask(ctx: Ctx, kind: str, text: str, **fields: Any) -> Prompt:
    return Prompt(kind=kind, text=text, header=header(ctx), **fields)  # type: ignore[arg-type]
