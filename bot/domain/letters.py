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
#   practice_name; optional: client_label (never printed: a chart label is not a name), addressee (the name of the
#   person who asked; without it the greeting is a placeholder such as "[client's name]" for the clinician to fill in
#   outside chat), requester (client|parent_of_minor|personal_representative: whose records the letter speaks of),
#   reference, today (letter date; defaults to date.today()), third_party (bool: the copy goes to someone the client
#   named), recipient (that person's name), direction_on_file (bool: the signed document is in hand), directed_kind
#   (ehr_electronic: the client's direction under 164.524(c)(3)(ii) as limited by Ciox v. Azar; authorization: any
#   other copy needs a 164.508 authorization).
# acknowledgement: received_on, access_type (copy|inspect|summary), scope (text, list of texts, or a mapping with
#   optional "from"/"to" dates and "note"), expected_on (effective deadline or an earlier target), delivery
#   (pickup|mail|portal|encrypted_email|unencrypted_email), contact_name, contact_phone;
#   optional fee_cents (0 = no fee; None = not estimated yet, told before copying).
# extension_notice: received_on, original_due, new_date, reasons (text or list), contact_name, contact_phone;
#   optional already_extended (bool). Refused after original_due, when already extended (one extension only,
#   45 CFR 164.524(b)(2)(iii)), or when new_date is not within 30 days after original_due.
# release_cover: included (text or list), delivery, released_on, contact_name, contact_phone; optional received_on,
#   fee_cents, withheld (list of {"what", "why"}; why is a DENIAL_GROUNDS key, "other_people", or free text; each
#   item keeps its own ground and says whether it can be reviewed), denial_letter_on (date of the denial letter).
# denial: received_on, basis (ground key or list of keys from DENIAL_GROUNDS), privacy_contact_name,
#   privacy_contact_phone (45 CFR 164.524(d)(2)); optional access_type, denied (what is withheld), items (list of
#   {"what", "ground"}: each withheld item with its own ground; basis and denied follow from it), explanation
#   (free text added under the grounds), contact_name (signer; defaults to the privacy contact), jurisdiction (a
#   state whose law gives more than HIPAA on a denial for harm to the client: STATE_DENIAL_RIGHTS),
#   denial_duration (Texas: how long the denial lasts, 611.0045(c); required there).
# partial_denial: as denial, plus denied and provided (required); optional delivery, expected_on for the rest.
# designated_release: the withheld part, sent to the professional the client named under a state's law:
#   recipient, jurisdiction, withheld (list of {"what", "ground"}), contact_name, contact_phone; optional
#   recipient_role, client_name, released_on, delivery.
# email_risk_notice: contact_name, contact_phone; optional alternatives (list of delivery keys to offer instead).
#
# Practice notes (English only):
# addendum: note_date, correction, author; optional reason, today (the addendum's date; not before note_date).
# refusal_note (Cal. HSC 123115(b)(1), filed with the records): received_on, ground, consequences, author;
#   optional today.
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
    "designated_release",
)
PRACTICE_NOTES = ("addendum", "consult_request", "reminder", "refusal_note")
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
    # A parent is not the minor's personal representative where the minor consented to the care or state law gives
    # the minor the right (45 CFR 164.502(g)(3); Cal. HSC 123115(a)): not a 164.524(a)(3) ground, so no review.
    "minor_holds_right": False,
}
# The rule behind each ground, for the case file (reference sheet §2, §3, §7).
GROUND_CITATIONS: dict[str, str] = {
    "psychotherapy_notes": "45 CFR 164.524(a)(1)(i), (a)(2)(i)",
    "litigation": "45 CFR 164.524(a)(1)(ii), (a)(2)(i)",
    "confidential_source": "45 CFR 164.524(a)(2)(v)",
    "endanger_life": "45 CFR 164.524(a)(3)(i)",
    "harm_to_other_person": "45 CFR 164.524(a)(3)(ii)",
    "personal_representative_harm": "45 CFR 164.524(a)(3)(iii)",
    "minor_holds_right": "45 CFR 164.502(g)(3)",
}
REQUESTERS = ("client", "parent_of_minor", "personal_representative")
DIRECTED_KINDS = ("ehr_electronic", "authorization")
# The rule whose one extension is being taken (deadlines: RuleDue.extension_key) decides the notice's words.
EXTENSION_RULES = ("hipaa", "wa", "ca_summary", "mt")
# Cal. HSC 123130(a): a summary may take up to 30 days only for a record of extraordinary length, or a discharge from
# a facility within the last 10 days.
CA_SUMMARY_REASONS = ("extraordinary_length", "recent_discharge")
# States whose law gives the client more than HIPAA when records are withheld for harm to the client (reference
# sheet §6): CA 123115(b), TX 611.0045(c)-(e), WA 70.02.090, NJ 13:42-8.3(e). The HIPAA ground that such a denial
# may rest on for a covered entity is endanger_life (164.524(a)(3)(i)); the state's broader ground is not applied.
STATE_DENIAL_RIGHTS: dict[str, str] = {
    "CA": "Cal. HSC 123115(b)",
    "TX": "Tex. HSC 611.0045(c)-(e)",
    "WA": "RCW 70.02.090",
    "NJ": "N.J.A.C. 13:42-8.3(e)",
}
CLIENT_HARM_GROUNDS = ("endanger_life",)
ACCESS_TYPES = ("copy", "inspect", "summary")
DELIVERY_METHODS = ("pickup", "mail", "portal", "encrypted_email", "unencrypted_email")
WITHHELD_REASONS = (*DENIAL_GROUNDS, "other_people")

_CLIENT = ("practice_name",)
_CLIENT_OPTIONAL = (
    "client_label",
    "addressee",
    "requester",
    "reference",
    "today",
    "third_party",
    "recipient",
    "directed_kind",
)
_DENIAL_REQUIRED = (*_CLIENT, "received_on", "basis", "privacy_contact_name", "privacy_contact_phone")
_DENIAL_OPTIONAL = (
    *_CLIENT_OPTIONAL,
    "access_type",
    "denied",
    "explanation",
    "contact_name",
    "delivery",
    "expected_on",
    "items",
    "jurisdiction",
    "denial_duration",
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
        (*_CLIENT_OPTIONAL, "already_extended", "extension_rule", "latest"),
    ),
    "release_cover": _Kind(
        (*_CLIENT, "included", "delivery", "released_on", "contact_name", "contact_phone"),
        (*_CLIENT_OPTIONAL, "received_on", "fee_cents", "withheld", "denial_letter_on"),
    ),
    "denial": _Kind(_DENIAL_REQUIRED, _DENIAL_OPTIONAL),
    "partial_denial": _Kind((*_DENIAL_REQUIRED, "denied", "provided"), _DENIAL_OPTIONAL),
    "email_risk_notice": _Kind((*_CLIENT, "contact_name", "contact_phone"), (*_CLIENT_OPTIONAL, "alternatives")),
    "designated_release": _Kind(
        (*_CLIENT, "recipient", "jurisdiction", "withheld", "contact_name", "contact_phone"),
        (*_CLIENT_OPTIONAL, "recipient_role", "client_name", "released_on", "delivery"),
    ),
    "addendum": _Kind(("note_date", "correction", "author"), ("reason", "today")),
    "refusal_note": _Kind(("received_on", "ground", "consequences", "author"), ("today",)),
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
    "latest",
)
_CHOICES: dict[str, tuple[str, ...]] = {
    "access_type": ACCESS_TYPES,
    "delivery": DELIVERY_METHODS,
    "basis": tuple(DENIAL_GROUNDS),
    "alternatives": DELIVERY_METHODS,
    "requester": REQUESTERS,
    "directed_kind": DIRECTED_KINDS,
    "extension_rule": EXTENSION_RULES,
    "ground": tuple(DENIAL_GROUNDS),
}
# Words that make a contact a title, not a person's name: "contact our Privacy Officer", never "contact Privacy Officer"
_TITLE_WORDS = re.compile(
    r"\b(officer|manager|office|desk|department|coordinator|director|team|administrator|administration|reception|"
    r"front|records|privacy|compliance|oficina|responsable|encargad[oa]|coordinador[a]?|director[a]?)\b",
    re.IGNORECASE,
)
_PERSON_MARKS = re.compile(r"^(dr|dra|mr|mrs|ms|mx|sr|sra|srta|lic)\.?\s", re.IGNORECASE)
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

    if kind in ("denial", "partial_denial") and not _blank(context.get("items")):
        context = _from_items(context)
    missing = [key for key in spec.required if _blank(context.get(key))]
    if kind == "release_cover" and not _withheld_complete(context.get("withheld")):
        missing.append("withheld")
    if (
        kind in ("denial", "partial_denial")
        and _state_rights(context) == "TX"
        and _blank(context.get("denial_duration"))
    ):
        missing.append("denial_duration")  # Tex. HSC 611.0045(c): the statement names how long the denial lasts
    if missing:
        raise LetterIncomplete(kind, missing)

    ctx: dict[str, Any] = dict.fromkeys(spec.optional)
    ctx.update(context)
    if ctx.get("today") is None:
        ctx["today"] = date.today()
    _check_types(ctx)
    if kind in CLIENT_LETTERS:
        _prepare_client(ctx)
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
        "requester": request.requester_type if request.requester_type in REQUESTERS else "client",
        "jurisdiction": request.jurisdiction,
        # the rule whose one extension this request can take, and its furthest date (deadlines.extension_rule)
        "extension_rule": (request.deadline or {}).get("extension_rule") or "hipaa",
        "latest": request.extended_due_on,
    }
    direction = (request.release or {}).get("direction") or {}
    if request.third_party_direction:
        ctx["recipient"] = direction.get("recipient")
        ctx["direction_on_file"] = request.direction_on_file
        # after Ciox v. Azar a paper copy is never under the client's direction: it needs a HIPAA authorization
        ctx["directed_kind"] = direction.get("kind") or ("authorization" if request.form == "paper" else None)
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


def is_title(name: Any) -> bool:
    """A contact given as a role ("Privacy Officer"), which a letter reads as "our Privacy Officer"."""
    # "Dr. Ana Ruiz" or "Dana Brooks, Privacy Officer" is a person (with a title), read as written
    if not isinstance(name, str) or _PERSON_MARKS.match(name.strip()) or "," in name:
        return False
    return bool(_TITLE_WORDS.search(name))


def _prepare_client(ctx: dict[str, Any]) -> None:
    """Who the letter speaks to and of; which contacts are titles."""
    ctx["requester"] = ctx.get("requester") or "client"
    ctx["addressee"] = ctx.get("addressee") if not _blank(ctx.get("addressee")) else None
    for key in ("contact_name", "privacy_contact_name"):
        ctx[f"{key}_is_title"] = is_title(ctx.get(key))


def _state_rights(ctx: Mapping[str, Any]) -> str | None:
    """The state whose extra rights on a denial for harm to the client apply here, if any (STATE_DENIAL_RIGHTS)."""
    basis = ctx.get("basis")
    keys = [basis] if isinstance(basis, str) else list(basis or [])
    state = str(ctx.get("jurisdiction") or "").upper()
    if state in STATE_DENIAL_RIGHTS and any(key in CLIENT_HARM_GROUNDS for key in keys):
        return state
    return None


def _from_items(context: dict[str, Any]) -> dict[str, Any]:
    """Each withheld item with its own ground: the basis and the "what we are not providing" follow from them."""
    items = [dict(item) for item in context["items"] if not _blank(item.get("what")) and item.get("ground")]
    return {
        **context,
        "items": items,
        "basis": list(dict.fromkeys(item["ground"] for item in items)),
        "denied": context.get("denied") or [item["what"] for item in items],
    }


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
    ctx["extension_rule"] = ctx.get("extension_rule") or "hipaa"
    latest = min(filter(None, (ctx.get("latest"), original + _MAX_EXTENSION)))
    if new > latest:
        message = text.say(
            "letters.extension_too_long",
            original_due=original,
            new_date=new,
            latest=latest,
            rule=ctx["extension_rule"],
        )
        raise LetterNotAllowed("extension_notice", message)
    if ctx["extension_rule"] == "ca_summary":
        reasons = [ctx["reasons"]] if isinstance(ctx["reasons"], str) else list(ctx["reasons"])
        if not reasons or any(reason not in CA_SUMMARY_REASONS for reason in reasons):
            raise LetterNotAllowed("extension_notice", text.say("letters.ca_summary_reasons_only"))


def _prepare_denial(ctx: dict[str, Any]) -> None:
    """Reviewability follows from the grounds given; the caller cannot switch review rights off."""
    keys = [ctx["basis"]] if isinstance(ctx["basis"], str) else list(dict.fromkeys(ctx["basis"]))
    ctx["basis"] = keys
    ctx["grounds"] = [{"key": key, "reviewable": DENIAL_GROUNDS[key]} for key in keys]
    ctx["reviewable_grounds"] = [key for key in keys if DENIAL_GROUNDS[key]]
    ctx["unreviewable_grounds"] = [key for key in keys if not DENIAL_GROUNDS[key]]
    ctx["reviewable"] = bool(ctx["reviewable_grounds"])
    # one item per withheld part, each with its own ground and reviewability (45 CFR 164.524(a)(2)-(a)(4), (d)(2))
    items = ctx.get("items") or [{"what": None, "ground": key} for key in keys]
    ctx["items"] = [{**item, "reviewable": DENIAL_GROUNDS[item["ground"]]} for item in items]
    ctx["itemized"] = bool(ctx.get("items")) and any(item.get("what") for item in ctx["items"])
    ctx["state_rights"] = _state_rights(ctx)
    if isinstance(ctx.get("denied"), list | tuple):
        ctx["denied"] = list(ctx["denied"])


def _check_withheld(ctx: dict[str, Any]) -> None:
    ctx["withheld"] = [
        {**item, "reviewable": DENIAL_GROUNDS.get(str(item.get("why") or item.get("ground")))}
        for item in ctx.get("withheld") or []
    ]


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
    "designated_release": _check_withheld,
    "denial": _prepare_denial,
    "partial_denial": _prepare_denial,
    "addendum": _check_addendum,
    "reminder": _prepare_reminder,
}
