"""Client letters and practice notes drafted from templates/letters/, checked for what the law requires first."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from bot import text
from bot.domain.phi import names_label

if TYPE_CHECKING:
    from bot.config import PracticeSettings
    from bot.store import RecordsRequest

# Context keys, per kind. Every value is data: it is passed to the template, never parsed as template source.
# Dates are datetime.date; money is whole cents; free text is shown as written (give it in the letter's language).
#
# Client letters (language "en" or "es"), all of them:
#   practice_name, client_label (greeting and paper trail; the clinician swaps in a name when sending),
#   optional: addressee (greeting instead of client_label, e.g. a personal representative), reference,
#   today (letter date; defaults to date.today()), third_party (bool: the copy goes to someone the client named).
# acknowledgement: received_on, access_type (copy|inspect|summary), scope (text, list of texts, or a mapping with
#   optional "from"/"to" dates and "note"), expected_on (effective deadline or an earlier target), delivery
#   (pickup|mail|portal|encrypted_email|unencrypted_email), contact_name, contact_phone;
#   optional fee_cents (0 = no fee; None = not estimated yet, told before copying).
# extension_notice: received_on, original_due, new_date, reasons (text or list), contact_name, contact_phone;
#   optional already_extended (bool). Refused after original_due, when already extended (one extension only,
#   45 CFR 164.524(b)(2)(iii)), or when new_date is not within 30 days after original_due.
# release_cover: included (text or list), delivery, released_on, contact_name, contact_phone; optional received_on,
#   fee_cents, withheld (list of {"what", "why"}; why is a DENIAL_GROUNDS key, "other_people", or free text),
#   denial_letter_on (date of the separate denial letter).
# denial: received_on, basis (ground key or list of keys from DENIAL_GROUNDS), privacy_contact_name,
#   privacy_contact_phone (45 CFR 164.524(d)(2)); optional access_type, denied (what is withheld), explanation
#   (free text added under the grounds), contact_name (signer; defaults to the privacy contact).
# partial_denial: as denial, plus denied and provided (required); optional delivery, expected_on for the rest.
# email_risk_notice: contact_name, contact_phone; optional alternatives (list of delivery keys to offer instead).
#
# Practice notes (English only):
# addendum: note_date, correction, author; optional reason, today (the addendum's date; not before note_date).
# consult_request (no PHI): reference, due_on, step, owner, question; nothing else reaches the template.
# reminder (no PHI): reference, due_on, step, owner; optional status, days_left (int, negative = overdue;
#   computed from today when absent); nothing else reaches the template.
# For the PHI-free notes, a client_label (or client_name) passed in is used only to refuse text that contains it.

CLIENT_LETTERS = (
    "acknowledgement",
    "extension_notice",
    "release_cover",
    "denial",
    "partial_denial",
    "email_risk_notice",
)
PRACTICE_NOTES = ("addendum", "consult_request", "reminder")
LANGUAGES = ("en", "es")

# Ground key -> reviewable. Unreviewable: 164.524(a)(2)(i) psychotherapy notes and litigation, (a)(2)(v) confidential
# source. Reviewable by a licensed professional who took no part in the denial (a)(4): (a)(3)(i)-(iii).
DENIAL_GROUNDS: dict[str, bool] = {
    "psychotherapy_notes": False,
    "litigation": False,
    "confidential_source": False,
    "endanger_life": True,
    "harm_to_other_person": True,
    "personal_representative_harm": True,
}
ACCESS_TYPES = ("copy", "inspect", "summary")
DELIVERY_METHODS = ("pickup", "mail", "portal", "encrypted_email", "unencrypted_email")
WITHHELD_REASONS = (*DENIAL_GROUNDS, "other_people")

_CLIENT = ("practice_name", "client_label")
_CLIENT_OPTIONAL = ("addressee", "reference", "today", "third_party")
_DENIAL_REQUIRED = (*_CLIENT, "received_on", "basis", "privacy_contact_name", "privacy_contact_phone")
_DENIAL_OPTIONAL = (
    *_CLIENT_OPTIONAL,
    "access_type",
    "denied",
    "explanation",
    "contact_name",
    "delivery",
    "expected_on",
)


@dataclass(frozen=True)
class _Kind:
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    phi_free: bool = False  # only the declared keys reach the template


_KINDS: dict[str, _Kind] = {
    "acknowledgement": _Kind(
        (*_CLIENT, "received_on", "access_type", "scope", "expected_on", "delivery", "contact_name", "contact_phone"),
        (*_CLIENT_OPTIONAL, "fee_cents"),
    ),
    "extension_notice": _Kind(
        (*_CLIENT, "received_on", "original_due", "new_date", "reasons", "contact_name", "contact_phone"),
        (*_CLIENT_OPTIONAL, "already_extended"),
    ),
    "release_cover": _Kind(
        (*_CLIENT, "included", "delivery", "released_on", "contact_name", "contact_phone"),
        (*_CLIENT_OPTIONAL, "received_on", "fee_cents", "withheld", "denial_letter_on"),
    ),
    "denial": _Kind(_DENIAL_REQUIRED, _DENIAL_OPTIONAL),
    "partial_denial": _Kind((*_DENIAL_REQUIRED, "denied", "provided"), _DENIAL_OPTIONAL),
    "email_risk_notice": _Kind((*_CLIENT, "contact_name", "contact_phone"), (*_CLIENT_OPTIONAL, "alternatives")),
    "addendum": _Kind(("note_date", "correction", "author"), ("reason", "today")),
    "consult_request": _Kind(("reference", "due_on", "step", "owner", "question"), ("today",), phi_free=True),
    "reminder": _Kind(("reference", "due_on", "step", "owner"), ("status", "days_left", "today"), phi_free=True),
}

_DATES = (
    "today",
    "received_on",
    "expected_on",
    "original_due",
    "new_date",
    "released_on",
    "denial_letter_on",
    "note_date",
    "due_on",
)
_CHOICES: dict[str, tuple[str, ...]] = {
    "access_type": ACCESS_TYPES,
    "delivery": DELIVERY_METHODS,
    "basis": tuple(DENIAL_GROUNDS),
    "alternatives": DELIVERY_METHODS,
}
_LABEL_KEYS = ("client_label", "client_name")
_MAX_EXTENSION = timedelta(days=30)
# Template joins leave stray blank lines; Markdown treats a run of them as one, so collapsing changes nothing.
_EXTRA_BLANK_LINES = re.compile(r"\n[ \t]*\n(?:[ \t]*\n)+")


class LetterIncomplete(ValueError):
    """A letter was asked for before everything it must contain is known; .missing names the context keys."""

    def __init__(self, kind: str, missing: list[str]) -> None:
        self.kind = kind
        self.missing = list(missing)
        super().__init__(text.say("letters.letter_incomplete", kind=kind, missing=self.missing))


class LetterNotAllowed(ValueError):
    """The letter may not be sent as asked (a late or second extension, a client label in a PHI-free note)."""

    def __init__(self, kind: str, message: str) -> None:
        self.kind = kind
        super().__init__(message)


def required_elements(kind: str) -> tuple[str, ...]:
    """The context keys a letter of this kind cannot be drafted without."""
    return _spec(kind).required


def draft_letter(kind: str, language: str = "en", **context: Any) -> str:
    """Draft one letter or note as Markdown; raises LetterIncomplete or LetterNotAllowed instead of a flawed letter."""
    spec = _spec(kind)
    accepted = LANGUAGES if kind in CLIENT_LETTERS else ("en",)
    if language not in accepted:
        raise ValueError(text.say("letters.unknown_language", kind=kind, language=language, accepted=list(accepted)))

    if spec.phi_free:
        labels = [str(context[k]) for k in _LABEL_KEYS if not _blank(context.get(k))]
        context = {k: v for k, v in context.items() if k in spec.required or k in spec.optional}
        _refuse_labels(kind, labels, context)

    missing = [key for key in spec.required if _blank(context.get(key))]
    if kind == "release_cover" and not _withheld_complete(context.get("withheld")):
        missing.append("withheld")
    if missing:
        raise LetterIncomplete(kind, missing)

    ctx: dict[str, Any] = dict.fromkeys(spec.optional)
    ctx.update(context)
    if ctx.get("today") is None:
        ctx["today"] = date.today()
    _check_types(ctx)
    _KIND_CHECKS.get(kind, _no_check)(ctx)
    body = text.render(f"letters/{kind}.{language}.md.j2", **ctx)
    return _EXTRA_BLANK_LINES.sub("\n\n", body)


def request_context(request: RecordsRequest, practice: PracticeSettings | None = None) -> dict[str, Any]:
    """The context keys a stored request (and the practice's settings) already answer; add the rest per letter."""
    ctx: dict[str, Any] = {
        "reference": request.reference,
        "client_label": request.client_label,
        "received_on": request.received_on,
        "access_type": request.access_type,
        "scope": {"from": request.scope_from, "to": request.scope_to, "note": request.scope_note},
        "expected_on": min(filter(None, (request.target_on, request.effective_due))),
        "delivery": request.delivery,
        "fee_cents": request.fee_estimate_cents,
        "original_due": request.due_on,
        "new_date": request.extended_to,
        "reasons": request.extension_reason,
        "already_extended": request.extension_notice_sent_on is not None,
        "due_on": request.effective_due,
        "step": request.step,
        "status": request.status,
        "released_on": request.released_on,
        "third_party": request.third_party_direction,
    }
    if practice is not None:
        ctx["practice_name"] = practice.name
        if practice.privacy_contact is not None:
            ctx["privacy_contact_name"] = practice.privacy_contact.name_or_title
            ctx["privacy_contact_phone"] = practice.privacy_contact.phone
    return ctx


def _spec(kind: str) -> _Kind:
    if kind not in _KINDS:
        raise ValueError(text.say("letters.unknown_kind", kind=kind, accepted=[*CLIENT_LETTERS, *PRACTICE_NOTES]))
    return _KINDS[kind]


def _blank(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, Mapping):
        return False  # a scope mapping with no dates or note means "all of the records"
    if isinstance(value, list | tuple | set):
        return all(_blank(v) for v in value)
    return False


def _withheld_complete(withheld: Any) -> bool:
    if withheld is None:
        return True
    if not isinstance(withheld, list | tuple):
        return False
    return all(
        isinstance(item, Mapping) and not _blank(item.get("what")) and not _blank(item.get("why")) for item in withheld
    )


def _refuse_labels(kind: str, labels: list[str], context: Mapping[str, Any]) -> None:
    """A PHI-free note may not carry the client's label anywhere in its free text."""
    written = " ".join(str(v) for v in context.values() if isinstance(v, str))
    if any(names_label(written, label) for label in labels):
        raise LetterNotAllowed(kind, text.say("letters.label_in_note", kind=kind))


def _check_types(ctx: dict[str, Any]) -> None:
    for key in _DATES:
        value = ctx.get(key)
        if value is not None and not isinstance(value, date):
            raise ValueError(text.say("letters.not_a_date", element_key=key, value=value))
    for key in ("fee_cents", "days_left"):
        value = ctx.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise ValueError(text.say("letters.not_a_number", element_key=key, value=value))
    for key, accepted in _CHOICES.items():
        value = ctx.get(key)
        if value is None:
            continue
        for choice in [value] if isinstance(value, str) else value:
            if choice not in accepted:
                raise ValueError(
                    text.say("letters.unknown_choice", element_key=key, value=choice, accepted=list(accepted))
                )


def _no_check(ctx: dict[str, Any]) -> None:
    return None


def _check_extension(ctx: dict[str, Any]) -> None:
    today, original, new = ctx["today"], ctx["original_due"], ctx["new_date"]
    if ctx.get("already_extended"):
        raise LetterNotAllowed("extension_notice", text.say("letters.extension_already_taken"))
    if today > original:
        raise LetterNotAllowed(
            "extension_notice", text.say("letters.extension_too_late", original_due=original, today=today)
        )
    if new <= original:
        raise LetterNotAllowed(
            "extension_notice", text.say("letters.extension_not_later", original_due=original, new_date=new)
        )
    if new > original + _MAX_EXTENSION:
        message = text.say(
            "letters.extension_too_long", original_due=original, new_date=new, latest=original + _MAX_EXTENSION
        )
        raise LetterNotAllowed("extension_notice", message)


def _prepare_denial(ctx: dict[str, Any]) -> None:
    """Reviewability follows from the grounds given; the caller cannot switch review rights off."""
    keys = [ctx["basis"]] if isinstance(ctx["basis"], str) else list(dict.fromkeys(ctx["basis"]))
    ctx["basis"] = keys
    ctx["grounds"] = [{"key": key, "reviewable": DENIAL_GROUNDS[key]} for key in keys]
    ctx["reviewable_grounds"] = [key for key in keys if DENIAL_GROUNDS[key]]
    ctx["unreviewable_grounds"] = [key for key in keys if not DENIAL_GROUNDS[key]]
    ctx["reviewable"] = bool(ctx["reviewable_grounds"])


def _check_withheld(ctx: dict[str, Any]) -> None:
    ctx["withheld"] = [dict(item) for item in ctx.get("withheld") or []]


def _check_addendum(ctx: dict[str, Any]) -> None:
    if ctx["today"] < ctx["note_date"]:
        raise LetterNotAllowed(
            "addendum", text.say("letters.addendum_before_note", note_date=ctx["note_date"], today=ctx["today"])
        )


def _prepare_reminder(ctx: dict[str, Any]) -> None:
    if ctx.get("days_left") is None:
        ctx["days_left"] = (ctx["due_on"] - ctx["today"]).days


_KIND_CHECKS: dict[str, Callable[[dict[str, Any]], None]] = {
    "extension_notice": _check_extension,
    "release_cover": _check_withheld,
    "denial": _prepare_denial,
    "partial_denial": _prepare_denial,
    "addendum": _check_addendum,
    "reminder": _prepare_reminder,
}
