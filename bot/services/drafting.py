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


def denial_items(request: RecordsRequest) -> list[dict[str, str]]:
    """Each withheld item with its own ground: as the denial step recorded them, or one item per ground."""
    denial = request.denial or {}
    items = [
        {"what": phrase(item.get("what")) or "", "ground": item["ground"]}
        for item in denial.get("items") or []
        if item.get("ground")
    ]
    if items:
        return items
    what = phrase(denial.get("withheld") or denial.get("explanation"))
    grounds = denial.get("grounds") or []
    if len(grounds) == 1 and what:
        return [{"what": what, "ground": grounds[0]}]
    return []


def withheld_items(request: RecordsRequest) -> list[dict[str, str]]:
    """What was withheld and why, item by item, each with its own ground (never one ground for all)."""
    items = denial_items(request)
    if items:
        return [{"what": item["what"], "why": item["ground"]} for item in items]
    denial = request.denial or {}
    what = phrase((request.release or {}).get("withheld") or denial.get("withheld") or denial.get("explanation"))
    if not what:
        return []
    # several grounds for one undivided text: the reasons joined, each worded as its own ground
    grounds = denial.get("grounds") or ["other_people"]
    return [{"what": what, "why": ground} for ground in grounds]


def addressee(request: RecordsRequest, practice: PracticeSettings) -> str | None:
    """The client's name when the practice keeps names in chat and the letter goes to the client; else None (the
    letter then carries a placeholder such as "[client's name]", never the chart label)."""
    if not practice.phi_in_chat or not request.client_contact or request.requester_type != "client":
        return None
    from bot.config import load_env
    from bot.services.secrets import ContactUnreadable, decrypt_contact, load_fernet

    try:
        return decrypt_contact(load_fernet(load_env()), request.client_contact).get("name") or None
    except (ContactUnreadable, ValueError):
        return None


def letter_context(
    kind: str, request: RecordsRequest, practice: PracticeSettings, today: date, *, stored: bool = False, **extra: Any
) -> dict[str, Any]:
    """stored: the copy kept in the database, which greets with the placeholder (no name in clear at rest)."""
    ctx = letters.request_context(request, practice)
    ctx["contact_name"], ctx["contact_phone"] = contact(request, practice)
    ctx["today"] = today
    ctx["addressee"] = None if stored else addressee(request, practice)
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
        ctx["items"] = denial_items(request)
        ctx["explanation"] = denial.get("explanation")
        ctx["denied"] = None if ctx["items"] else phrase(denial.get("withheld") or denial.get("explanation"))
        ctx["denial_duration"] = phrase(denial.get("duration"))
        ctx["provided"] = phrase(release.get("included"))
        if release.get("released_on"):  # the part being provided goes out with this letter
            ctx["expected_on"] = date.fromisoformat(release["released_on"])
        if practice.privacy_contact:
            ctx["contact_name"] = practice.privacy_contact.name_or_title
    if kind == "extension_notice":
        ctx["already_extended"] = request.extended_to is not None
    if kind == "designated_release":
        designated = denial.get("designated") or {}
        ctx["recipient"] = designated.get("name")
        ctx["recipient_role"] = designated.get("role")
        ctx["withheld"] = withheld_items(request)
        ctx["released_on"] = date.fromisoformat(designated["sent_on"]) if designated.get("sent_on") else today
        ctx["delivery"] = None
        ctx["third_party"] = False
    if kind == "refusal_note":
        ctx["ground"] = "endanger_life"
        ctx["consequences"] = denial.get("consequences")
    ctx.update(extra)
    return ctx


def attempt(
    kind: str, request: RecordsRequest, practice: PracticeSettings, today: date, *, stored: bool = False, **extra: Any
) -> tuple[str | None, str | None]:
    """(letter text, None), or (None, why it cannot be drafted yet): a refused letter is never a crash."""
    language = request.language if kind in letters.CLIENT_LETTERS else "en"
    try:
        context = letter_context(kind, request, practice, today, stored=stored, **extra)
        return letters.draft_letter(kind, language, **context), None
    except (letters.LetterIncomplete, letters.LetterNotAllowed) as exc:
        return None, str(exc)


def draft(
    kind: str, request: RecordsRequest, practice: PracticeSettings, today: date, *, stored: bool = False, **extra: Any
) -> str:
    """The letter text, or the reason it cannot be drafted yet in its place (stored: the copy kept, see above)."""
    body, problem = attempt(kind, request, practice, today, stored=stored, **extra)
    return body if body is not None else say("letter_refused", reason=problem)


def check_denial(request: RecordsRequest, practice: PracticeSettings, values: dict[str, Any], *, today: date) -> None:
    """Refuse a denial the law would not accept (e.g. no privacy contact phone), naming what is missing."""
    kind = values.get("letter") or "denial"
    probe = RecordsRequest.model_validate(request.model_dump())
    probe.denial = {k: values.get(k) for k in ("grounds", "withheld", "explanation", "items", "duration")}
    # a partial denial's "what we are providing" comes on the next form: stand in for it here
    probe.release = {**(request.release or {}), "included": (request.release or {}).get("included") or "-"}
    try:
        letters.draft_letter(kind, request.language, **letter_context(kind, probe, practice, today))
    except (letters.LetterIncomplete, letters.LetterNotAllowed) as exc:
        raise Invalid(say("denial_refused", reason=str(exc))) from None
