"""Letters for a stored request: the request's facts plus the practice's contacts, into bot.domain.letters."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from bot.config import PracticeSettings
from bot.domain import letters
from bot.engine import Invalid
from bot.store import RecordsRequest
from bot.text import say

LATE_TARGET_DAYS = 7  # as the timeframe step: a late request is aimed at within the week


def contact(request: RecordsRequest, practice: PracticeSettings) -> tuple[str | None, str | None]:
    """Who the client should contact: the practice's privacy contact or front desk."""
    # always a matching pair: the practice and its number, or the privacy contact and theirs
    if practice.phone:
        return practice.name, practice.phone
    privacy = practice.privacy_contact
    return (privacy.name_or_title, privacy.phone) if privacy else (practice.name, None)


def phrase(text: str | None) -> str | None:
    """Free text the letter puts mid-sentence: without a trailing full stop (the template adds its own)."""
    return text.strip().rstrip(".").rstrip() if text else text


def withheld_items(request: RecordsRequest) -> list[dict[str, str]]:
    """What was withheld and why, from the release record and the denial grounds."""
    denial = request.denial or {}
    what = phrase((request.release or {}).get("withheld") or denial.get("withheld") or denial.get("explanation"))
    grounds = denial.get("grounds") or []
    if not what:
        return []
    return [{"what": what, "why": grounds[0] if grounds else "other_people"}]  # the denial letter gives every ground


def letter_context(
    kind: str, request: RecordsRequest, practice: PracticeSettings, today: date, **extra: Any
) -> dict[str, Any]:
    ctx = letters.request_context(request, practice)
    ctx["contact_name"], ctx["contact_phone"] = contact(request, practice)
    ctx["today"] = today
    if ctx.get("expected_on") and ctx["expected_on"] < today:  # already late: promise a near date, never a past one
        ctx["expected_on"] = today + timedelta(days=LATE_TARGET_DAYS)
    release = request.release or {}
    denial = request.denial or {}
    if kind == "release_cover":
        ctx["included"] = phrase(release.get("included"))
        ctx["released_on"] = date.fromisoformat(release["released_on"]) if release.get("released_on") else today
        ctx["delivery"] = release.get("method") or request.delivery
        ctx["withheld"] = withheld_items(request)
        if "fee_cents" in release:
            ctx["fee_cents"] = release["fee_cents"]
        if denial:
            ctx["denial_letter_on"] = today
    if kind in ("denial", "partial_denial"):
        ctx["basis"] = denial.get("grounds")
        ctx["explanation"] = denial.get("explanation")
        ctx["denied"] = phrase(denial.get("withheld") or denial.get("explanation"))
        ctx["provided"] = phrase(release.get("included"))
        if release.get("released_on"):  # the part being provided goes out with this letter
            ctx["expected_on"] = date.fromisoformat(release["released_on"])
        if practice.privacy_contact:
            ctx["contact_name"] = practice.privacy_contact.name_or_title
    if kind == "extension_notice":
        ctx["already_extended"] = request.extended_to is not None
    ctx.update(extra)
    return ctx


def attempt(
    kind: str, request: RecordsRequest, practice: PracticeSettings, today: date, **extra: Any
) -> tuple[str | None, str | None]:
    """(letter text, None), or (None, why it cannot be drafted yet): a refused letter is never a crash."""
    language = request.language if kind in letters.CLIENT_LETTERS else "en"
    try:
        return letters.draft_letter(kind, language, **letter_context(kind, request, practice, today, **extra)), None
    except (letters.LetterIncomplete, letters.LetterNotAllowed) as exc:
        return None, str(exc)


def draft(kind: str, request: RecordsRequest, practice: PracticeSettings, today: date, **extra: Any) -> str:
    """The letter text, or the reason it cannot be drafted yet in its place."""
    body, problem = attempt(kind, request, practice, today, **extra)
    return body if body is not None else say("letter_refused", reason=problem)


def check_denial(request: RecordsRequest, practice: PracticeSettings, values: dict[str, Any], *, today: date) -> None:
    """Refuse a denial the law would not accept (e.g. no privacy contact phone), naming what is missing."""
    kind = values.get("letter") or "denial"
    probe = RecordsRequest.model_validate(request.model_dump())
    probe.denial = {k: values.get(k) for k in ("grounds", "withheld", "explanation")}
    # a partial denial's "what we are providing" comes on the next form: stand in for it here
    probe.release = {**(request.release or {}), "included": (request.release or {}).get("included") or "-"}
    try:
        letters.draft_letter(kind, request.language, **letter_context(kind, probe, practice, today))
    except (letters.LetterIncomplete, letters.LetterNotAllowed) as exc:
        raise Invalid(say("denial_refused", reason=str(exc))) from None
