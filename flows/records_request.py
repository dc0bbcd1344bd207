"""The records-request procedure, step by step, as the practice would describe it."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from bot.answers import read_checklist, read_choice, read_date, read_form, read_text
from bot.engine import Ctx, Effect, Flow, Go, Invalid, Step
from bot.prompts import Choice, FormField, Prompt
from bot.services import drafting
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
    return tuple(Choice(v, t("label", group=group, value=v)) for v in values)


def header(ctx: Ctx) -> str | None:
    request = ctx.request
    if request is None:
        return None
    left = (request.effective_due - ctx.today).days
    return t("header", reference=request.reference, due=request.effective_due, days_left=left, step=ctx.state.step)


def ask(ctx: Ctx, kind: str, text: str, **fields: Any) -> Prompt:
    return Prompt(kind=kind, text=text, header=header(ctx), **fields)  # type: ignore[arg-type]


class RecordsRequestFlow(Flow):
    """A client asked for their records: intake, acknowledge, deadline, review, consult, release or deny, follow up."""

    name = "records_request"
    first = "intake"

    # 1-2. Orientation and intake: who asked, for what, when it arrived, how it goes out.
    intake = Step(
        ask="ask_intake",
        read="read_intake",
        do="create_request",
        remember="without_contact",
        then=(Go("parties", when="multi_party"), Go("acknowledge")),
    )
    parties = Step(ask="ask_parties", read="read_parties", do="save_parties", then=(Go("acknowledge"),))
    # 3. Acknowledge the request in writing.
    acknowledge = Step(
        ask="ask_acknowledge",
        read="read_acknowledge",
        do="record_acknowledgement",
        then=(
            Go("acknowledge_date", when="sent_another_day"),
            Go("email_risk", when="needs_email_risk"),
            Go("direction", when="needs_direction"),
            Go("timeframe", when="acknowledged"),
        ),
    )
    acknowledge_date = Step(
        ask="ask_acknowledge_date",
        read="read_acknowledge_date",
        do="record_acknowledgement_date",
        then=(Go("email_risk", when="needs_email_risk"), Go("direction", when="needs_direction"), Go("timeframe")),
    )
    # Unencrypted email at the client's request: warn, then do as they ask (78 FR 5634; HHS FAQ 2061).
    email_risk = Step(
        ask="ask_email_risk",
        read="read_email_risk",
        do="record_email_risk",
        then=(
            Go("delivery_change", when="chose_other_delivery"),
            Go("direction", when="needs_direction"),
            Go("timeframe", when="email_risk_settled"),
        ),
    )
    delivery_change = Step(
        ask="ask_delivery_change",
        read="read_delivery_change",
        do="record_delivery_change",
        then=(Go("direction", when="needs_direction"), Go("timeframe")),
    )
    # A copy sent to someone else needs the client's written, signed direction (45 CFR 164.524(c)(3)(ii)).
    direction = Step(ask="ask_direction", read="read_direction", do="record_direction", then=(Go("timeframe"),))
    # 4. Timeframe: the deadline with its rule and citation, a target date, or the one extension.
    timeframe = Step(
        ask="ask_timeframe",
        read="read_timeframe",
        then=(Go("extension_reason", when="chose_extension"), Go("target")),
    )
    target = Step(ask="ask_target", read="read_target", do="record_target", then=(Go("review"),))
    extension_reason = Step(ask="ask_extension_reason", read="read_reason", then=(Go("extension_date"),))
    extension_date = Step(ask="ask_extension_date", read="read_extension_date", then=(Go("extension_notice"),))
    extension_notice = Step(
        ask="ask_extension_notice",
        read="read_extension_notice",
        do="record_extension",
        then=(Go("target", when="extension_sent"), Go("timeframe", when="extension_window_closed")),
    )
    # 5. Review the record.
    review = Step(
        ask="ask_review", read="read_review", do="record_review", then=(Go("findings", when="review_complete"),)
    )
    findings = Step(
        ask="ask_findings",
        read="read_findings",
        do="record_findings",
        then=(Go("addendum", when="errors_found"), Go("consult")),
    )
    addendum = Step(ask="ask_addendum", read="read_addendum", do="save_addendum", then=(Go("consult"),))
    # 6. Consult: optional, always offered.
    consult = Step(
        ask="ask_consult",
        read="read_consult",
        then=(
            Go("consult_who", when="consult_in_practice"),
            Go("consult_call", when="consult_by_phone"),
            Go("decision"),
        ),
    )
    consult_who = Step(ask="ask_consult_who", read="read_consult_who", then=(Go("consult_question"),))
    consult_question = Step(
        ask="ask_consult_question", read="read_consult_question", do="send_consult", then=(Go("consult"),)
    )
    consult_call = Step(ask="ask_consult_call", read="read_consult_call", do="record_call", then=(Go("consult"),))
    # 7. Release or deny.
    decision = Step(
        ask="ask_decision",
        read="read_decision",
        do="record_decision",
        then=(Go("release", when="chose_release"), Go("denial")),
    )
    release = Step(
        ask="ask_release",
        read="read_release",
        do="record_release_details",
        then=(Go("denial_letter", when="is_partial_denial"), Go("release_letter")),
    )
    release_letter = Step(
        ask="ask_release_letter",
        read="read_letter_sent",
        do="record_release",
        then=(Go("follow_up", when="letter_sent"),),
    )
    denial = Step(
        ask="ask_denial",
        read="read_denial",
        do="record_denial_details",
        then=(Go("release", when="is_partial_denial"), Go("denial_letter")),
    )
    denial_letter = Step(
        ask="ask_denial_letter",
        read="read_letter_sent",
        do="record_denial",
        then=(Go("follow_up", when="letter_sent"),),
    )
    # 8. What happens next.
    follow_up = Step(
        ask="ask_follow_up",
        read="read_follow_up",
        do="record_outcome",
        then=(Go("follow_up", when="still_waiting"),),
        final=True,
    )

    # ---------------------------------------------------------------- intake
    def intake_fields(self, ctx: Ctx) -> tuple[FormField, ...]:
        return (
            FormField("client_label", t("f_client_label"), "text", max_length=40, hint=t("h_client_label")),
            FormField("requester_type", t("f_requester_type"), "choice", choices("requester", REQUESTERS)),
            FormField("access_type", t("f_access_type"), "choice", choices("access", ACCESS)),
            FormField("therapy_format", t("f_therapy_format"), "choice", choices("format", FORMATS)),
            FormField("received_on", t("f_received_on"), "date", hint=t("h_received_on")),
            FormField("scope", t("f_scope"), "text", required=False, max_length=200, hint=t("default_scope")),
            FormField("form", t("f_form"), "choice", choices("form", FORMS)),
            FormField("delivery", t("f_delivery"), "choice", choices("delivery", DELIVERIES)),
            FormField("third_party", t("f_third_party"), "choice", choices("yesno", ("no", "yes"))),
            FormField("pages", t("f_pages"), "text", required=False, max_length=6, default="0", hint=t("h_pages")),
            FormField(
                "language", t("f_language"), "choice", choices("language", LANGUAGES), default=ctx.practice.language
            ),
        ) + (self.contact_fields() if ctx.practice.phi_in_chat else ())

    def contact_fields(self) -> tuple[FormField, ...]:
        """Only when the practice has switched client details in chat on; stored encrypted, never in run answers."""
        return (
            FormField("client_name", t("f_client_name"), "text", required=False, max_length=120),
            FormField("client_email", t("f_client_email"), "text", required=False, max_length=200),
            FormField("client_address", t("f_client_address"), "text", required=False, max_length=300),
        )

    def without_contact(self, ctx: Ctx, value: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in value.items() if k not in CONTACT_FIELDS}

    def ask_intake(self, ctx: Ctx) -> list[Prompt]:
        return [
            Prompt(kind="notice", text=t("orientation", practice=ctx.practice.name)),
            ask(ctx, "form", t("intake"), fields=self.intake_fields(ctx)),
        ]

    def read_intake(self, ctx: Ctx, raw: Any) -> dict[str, Any]:
        bounds = {"received_on": {"not_after": ctx.today, "not_before": EARLIEST_RECEIPT}}
        values = read_form(raw, self.intake_fields(ctx), **bounds)
        problems: dict[str, str] = {}
        pages = str(values.get("pages") or "0").strip()
        if not pages.isdigit():
            problems["pages"] = t("bad_pages", given=pages)
        if values["delivery"] in ("encrypted_email", "unencrypted_email", "portal") and values["form"] == "paper":
            problems["delivery"] = t("paper_by_email")
        email = values.get("client_email")
        if email and ("@" not in email or " " in email.strip()):
            problems["client_email"] = t("bad_email", given=email)
        if problems:
            first = next(iter(problems))
            raise Invalid(problems[first], fields=problems)
        values["pages"] = int(pages)
        values["third_party"] = values["third_party"] == "yes"
        return values

    def create_request(self, ctx: Ctx, values: dict[str, Any]) -> list[Effect]:
        return [Effect("create_request", dict(values)), Effect("post_channel", {"event": "created"})]

    def multi_party(self, ctx: Ctx, value: Any) -> bool:
        return value["therapy_format"] != "individual"

    def ask_parties(self, ctx: Ctx) -> list[Prompt]:
        fields = (
            FormField("others", t("f_others"), "text", max_length=200, hint=t("h_others")),
            FormField("consent", t("f_consent"), "choice", choices("consent", CONSENT)),
        )
        return [ask(ctx, "form", t("parties", format=ctx.request.therapy_format), fields=fields)]

    def read_parties(self, ctx: Ctx, raw: Any) -> dict[str, Any]:
        prompt = self.ask_parties(ctx)[0]
        values = read_form(raw, prompt.fields)
        labels = [p.strip() for p in values["others"].split(",") if p.strip()]
        if not labels or any(len(label) > 40 for label in labels):
            raise Invalid(t("bad_parties"), fields={"others": t("bad_parties")})
        return {"parties": [{"label": label, "consent": values["consent"]} for label in labels]}

    def save_parties(self, ctx: Ctx, value: dict[str, Any]) -> list[Effect]:
        return [Effect("update_request", {"parties": value["parties"]})]

    # ------------------------------------------------------------ acknowledge
    def ack_values(self, ctx: Ctx) -> tuple[str, ...]:
        _, problem = drafting.attempt("acknowledgement", ctx.request, ctx.practice, ctx.today)
        return ("sent_own", "later") if problem else ("sent_today", "sent_other", "later")

    def ask_acknowledge(self, ctx: Ctx) -> list[Prompt]:
        body, problem = drafting.attempt("acknowledgement", ctx.request, ctx.practice, ctx.today)
        options = choices("ack", self.ack_values(ctx))
        if problem:
            return [ask(ctx, "choice", t("letter_blocked", kind="acknowledgement", problem=problem), choices=options)]
        return [ask(ctx, "draft", t("acknowledge", language=ctx.request.language), body=body, choices=options)]

    def read_acknowledge(self, ctx: Ctx, raw: Any) -> str:
        return read_choice(raw, choices("ack", self.ack_values(ctx)))

    def record_acknowledgement(self, ctx: Ctx, value: str) -> list[Effect]:
        if value == "sent_own":
            return [
                Effect("audit_only", {"action": "acknowledgement.own_letter", "after": {"sent_on": ctx.today}}),
                Effect("update_request", {"acknowledged_on": ctx.today, "status": "acknowledged"}),
            ]
        if value != "sent_today":
            return []
        body = drafting.draft("acknowledgement", ctx.request, ctx.practice, ctx.today)
        return [
            Effect("save_draft", {"kind": "acknowledgement", "body": body, "sent_on": ctx.today}),
            Effect("update_request", {"acknowledged_on": ctx.today, "status": "acknowledged"}),
        ]

    def sent_another_day(self, ctx: Ctx, value: Any) -> bool:
        return value == "sent_other"

    def acknowledged(self, ctx: Ctx, value: Any) -> bool:
        return value in ("sent_today", "sent_own")

    def ask_acknowledge_date(self, ctx: Ctx) -> list[Prompt]:
        return [ask(ctx, "date", t("acknowledge_date"))]

    def read_acknowledge_date(self, ctx: Ctx, raw: Any) -> date:
        return read_date(raw, not_before=ctx.request.received_on, not_after=ctx.today, what=t("w_ack_date"))

    def record_acknowledgement_date(self, ctx: Ctx, value: date) -> list[Effect]:
        body = drafting.draft("acknowledgement", ctx.request, ctx.practice, value)
        return [
            Effect("save_draft", {"kind": "acknowledgement", "body": body, "sent_on": value}),
            Effect("update_request", {"acknowledged_on": value, "status": "acknowledged"}),
        ]

    # ----------------------------------------------------- email, direction
    def needs_email_risk(self, ctx: Ctx, value: Any) -> bool:
        answered = ctx.state.answers.get("email_risk") in ("confirmed", "other")
        return ctx.request.delivery == "unencrypted_email" and not answered

    def ask_email_risk(self, ctx: Ctx) -> list[Prompt]:
        body = drafting.draft("email_risk_notice", ctx.request, ctx.practice, ctx.today)
        return [
            ask(
                ctx,
                "draft",
                t("email_risk"),
                body=body,
                choices=choices("email_risk", ("confirmed", "other", "waiting")),
            )
        ]

    def read_email_risk(self, ctx: Ctx, raw: Any) -> str:
        value = read_choice(raw, choices("email_risk", ("confirmed", "other", "waiting")))
        _, problem = drafting.attempt("email_risk_notice", ctx.request, ctx.practice, ctx.today)
        if value == "confirmed" and problem:
            raise Invalid(t("letter_blocked", kind="email_risk_notice", problem=problem))
        return value

    def record_email_risk(self, ctx: Ctx, value: str) -> list[Effect]:
        if value != "confirmed":
            return []
        body = drafting.draft("email_risk_notice", ctx.request, ctx.practice, ctx.today)
        return [
            Effect("save_draft", {"kind": "email_risk_notice", "body": body, "sent_on": ctx.today}),
            Effect("update_request", {"email_risk_accepted_on": ctx.today}),
        ]

    def chose_other_delivery(self, ctx: Ctx, value: Any) -> bool:
        return value == "other"

    def email_risk_settled(self, ctx: Ctx, value: Any) -> bool:
        return value == "confirmed"

    def ask_delivery_change(self, ctx: Ctx) -> list[Prompt]:
        options = choices("delivery", tuple(d for d in DELIVERIES if d != "unencrypted_email"))
        return [ask(ctx, "choice", t("delivery_change"), choices=options)]

    def read_delivery_change(self, ctx: Ctx, raw: Any) -> str:
        return read_choice(raw, self.ask_delivery_change(ctx)[0].choices)

    def record_delivery_change(self, ctx: Ctx, value: str) -> list[Effect]:
        form = "paper" if value in ("pickup", "mail") and ctx.request.form == "paper" else ctx.request.form
        return [Effect("update_request", {"delivery": value, "form": form})]

    def needs_direction(self, ctx: Ctx, value: Any) -> bool:
        return bool(ctx.request.third_party_direction) and "direction" not in ctx.state.answers

    def ask_direction(self, ctx: Ctx) -> list[Prompt]:
        return [ask(ctx, "choice", t("direction"), choices=choices("direction", ("on_file", "not_yet")))]

    def read_direction(self, ctx: Ctx, raw: Any) -> str:
        return read_choice(raw, choices("direction", ("on_file", "not_yet")))

    def record_direction(self, ctx: Ctx, value: str) -> list[Effect]:
        return [Effect("update_request", {"direction_on_file": value == "on_file"})]

    # -------------------------------------------------------------- timeframe
    def extension_allowed(self, ctx: Ctx) -> bool:
        r = ctx.request
        return (
            r.extended_to is None
            and ctx.today <= r.due_on
            and r.extended_due_on is not None
            and r.extended_due_on > r.due_on
        )

    def timeframe_choices(self, ctx: Ctx) -> tuple[Choice, ...]:
        values = ("on_track", "extension") if self.extension_allowed(ctx) else ("on_track",)
        return choices("timeframe", values)

    def ask_timeframe(self, ctx: Ctx) -> list[Prompt]:
        r = ctx.request
        rules = r.deadline.get("rules", [])
        notes = r.deadline.get("notes", [])
        text = t(
            "timeframe",
            request=r,
            rules=rules,
            notes=notes,
            due=r.effective_due,
            extended=r.extended_to is not None,
            can_extend=self.extension_allowed(ctx),
            extended_due=r.extended_due_on,
        )
        return [ask(ctx, "choice", text, choices=self.timeframe_choices(ctx))]

    def read_timeframe(self, ctx: Ctx, raw: Any) -> str:
        return read_choice(raw, self.timeframe_choices(ctx))

    def chose_extension(self, ctx: Ctx, value: Any) -> bool:
        return value == "extension"

    def suggested_target(self, ctx: Ctx) -> date:
        due = ctx.request.effective_due
        target = due - timedelta(days=3)
        while target.weekday() >= 5:
            target -= timedelta(days=1)
        return max(target, ctx.today)

    def ask_target(self, ctx: Ctx) -> list[Prompt]:
        suggested = self.suggested_target(ctx)
        return [
            ask(ctx, "date", t("target", due=ctx.request.effective_due, suggested=suggested), default=str(suggested))
        ]

    def read_target(self, ctx: Ctx, raw: Any) -> date:
        return read_date(
            raw, not_before=ctx.request.received_on, not_after=ctx.request.effective_due, what=t("w_target")
        )

    def record_target(self, ctx: Ctx, value: date) -> list[Effect]:
        return [Effect("update_request", {"target_on": value, "status": "in_review", "step": "review"})]

    def ask_extension_reason(self, ctx: Ctx) -> list[Prompt]:
        return [ask(ctx, "text", t("extension_reason", due=ctx.request.due_on), max_length=500)]

    def read_reason(self, ctx: Ctx, raw: Any) -> str:
        return read_text(raw, max_length=500)

    def ask_extension_date(self, ctx: Ctx) -> list[Prompt]:
        latest = ctx.request.extended_due_on
        return [ask(ctx, "date", t("extension_date", latest=latest), default=str(latest))]

    def read_extension_date(self, ctx: Ctx, raw: Any) -> date:
        r = ctx.request
        return read_date(
            raw, not_before=r.due_on + timedelta(days=1), not_after=r.extended_due_on, what=t("w_new_date")
        )

    def extension_context(self, ctx: Ctx) -> dict[str, Any]:
        return {
            "reasons": ctx.state.answers.get("extension_reason", ""),
            "new_date": date.fromisoformat(ctx.state.answers["extension_date"]),
        }

    def ask_extension_notice(self, ctx: Ctx) -> list[Prompt]:
        if not self.extension_allowed(ctx):
            return [
                ask(ctx, "choice", t("extension_closed", due=ctx.request.due_on), choices=choices("back", ("back",)))
            ]
        body = drafting.draft("extension_notice", ctx.request, ctx.practice, ctx.today, **self.extension_context(ctx))
        return [
            ask(
                ctx,
                "draft",
                t("extension_notice", due=ctx.request.due_on),
                body=body,
                choices=choices("send", ("sent", "not_yet")),
            )
        ]

    def read_extension_notice(self, ctx: Ctx, raw: Any) -> str:
        if not self.extension_allowed(ctx):
            read_choice(raw, choices("back", ("back",)))
            return "closed"
        value = read_choice(raw, choices("send", ("sent", "not_yet")))
        extra = self.extension_context(ctx)
        _, problem = drafting.attempt("extension_notice", ctx.request, ctx.practice, ctx.today, **extra)
        if value == "sent" and problem:
            raise Invalid(t("letter_blocked", kind="extension_notice", problem=problem))
        return value

    def record_extension(self, ctx: Ctx, value: str) -> list[Effect]:
        if value != "sent":
            return []
        extra = self.extension_context(ctx)
        body = drafting.draft("extension_notice", ctx.request, ctx.practice, ctx.today, **extra)
        return [
            Effect("save_draft", {"kind": "extension_notice", "body": body, "sent_on": ctx.today}),
            Effect(
                "update_request",
                {
                    "extension_reason": extra["reasons"],
                    "extension_notice_sent_on": ctx.today,
                    "extended_to": extra["new_date"],
                },
            ),
            Effect("post_channel", {"event": "extended"}),
        ]

    def extension_sent(self, ctx: Ctx, value: Any) -> bool:
        return value == "sent"

    def extension_window_closed(self, ctx: Ctx, value: Any) -> bool:
        return value == "closed"

    # ----------------------------------------------------------------- review
    def review_items(self, ctx: Ctx) -> tuple[str, ...]:
        items = REVIEW_ITEMS
        if ctx.request.therapy_format != "individual":
            items += (MULTI_PARTY_ITEM,)
        if ctx.request.requester_type != "client":
            items += (REPRESENTATIVE_ITEM,)
        return items

    def ask_review(self, ctx: Ctx) -> list[Prompt]:
        done = set(ctx.state.answers.get("review", []))
        items = choices("review", self.review_items(ctx))
        left = [c.label for c in items if c.value not in done]
        return [
            ask(ctx, "checklist", t("review", left=left, done=len(done)), choices=items, default=",".join(sorted(done)))
        ]

    def read_review(self, ctx: Ctx, raw: Any) -> list[str]:
        picked = read_checklist(raw, choices("review", self.review_items(ctx)))
        earlier = ctx.state.answers.get("review", [])
        return sorted(set(earlier) | set(picked))

    def record_review(self, ctx: Ctx, value: list[str]) -> list[Effect]:
        return [Effect("checklist", {"done": value, "all": list(self.review_items(ctx))})]

    def review_complete(self, ctx: Ctx, value: Any) -> bool:
        return set(self.review_items(ctx)) <= set(value)

    def findings_fields(self, ctx: Ctx) -> tuple[FormField, ...]:
        fields = [
            FormField(
                "psychotherapy_notes", t("f_psychotherapy_notes"), "choice", choices("pnotes", PSYCHOTHERAPY_NOTES)
            ),
            FormField("errors_found", t("f_errors_found"), "choice", choices("yesno", ("no", "yes"))),
            FormField("others_info", t("f_others_info"), "choice", choices("others", OTHERS_INFO)),
            FormField("risk", t("f_risk"), "choice", choices("risk", ("no", "yes"))),
        ]
        return tuple(fields)

    def ask_findings(self, ctx: Ctx) -> list[Prompt]:
        return [ask(ctx, "form", t("findings"), fields=self.findings_fields(ctx))]

    def read_findings(self, ctx: Ctx, raw: Any) -> dict[str, Any]:
        return read_form(raw, self.findings_fields(ctx))

    def record_findings(self, ctx: Ctx, value: dict[str, Any]) -> list[Effect]:
        return [Effect("audit_only", {"action": "review_findings", "after": value})]

    def errors_found(self, ctx: Ctx, value: Any) -> bool:
        return value["errors_found"] == "yes"

    def addendum_fields(self) -> tuple[FormField, ...]:
        return (
            FormField("note_date", t("f_note_date"), "date"),
            FormField("correction", t("f_correction"), "text", max_length=1500),
        )

    def ask_addendum(self, ctx: Ctx) -> list[Prompt]:
        return [ask(ctx, "form", t("addendum"), fields=self.addendum_fields())]

    def read_addendum(self, ctx: Ctx, raw: Any) -> dict[str, Any]:
        bounds = {"note_date": {"not_after": ctx.today, "not_before": EARLIEST_RECEIPT}}
        return read_form(raw, self.addendum_fields(), **bounds)

    def save_addendum(self, ctx: Ctx, value: dict[str, Any]) -> list[Effect]:
        body = drafting.draft(
            "addendum",
            ctx.request,
            ctx.practice,
            ctx.today,
            note_date=value["note_date"],
            correction=value["correction"],
            author=ctx.actor,
        )
        return [Effect("save_draft", {"kind": "addendum", "body": body, "sent_on": None, "show": True})]

    # ---------------------------------------------------------------- consult
    def ask_consult(self, ctx: Ctx) -> list[Prompt]:
        asked = [c for c in ctx.consults]
        return [ask(ctx, "choice", t("consult", consults=asked), choices=choices("consult", CONSULT_KINDS))]

    def read_consult(self, ctx: Ctx, raw: Any) -> str:
        kind = read_choice(raw, choices("consult", CONSULT_KINDS))
        if kind in ("colleague", "supervisor") and not self.consultees(ctx, kind):
            raise Invalid(t("no_consultees", kind=kind))
        if kind in ("insurance", "association") and getattr(ctx.practice, kind) is None:
            raise Invalid(t("no_contact", kind=kind))
        return kind

    def consult_in_practice(self, ctx: Ctx, value: Any) -> bool:
        return value in ("colleague", "supervisor")

    def consult_by_phone(self, ctx: Ctx, value: Any) -> bool:
        return value in ("insurance", "association")

    def consultees(self, ctx: Ctx, kind: str) -> list[str]:
        p = ctx.practice
        if kind == "supervisor":
            names = [m.name for m in p.supervisors]
        else:
            names = p.consult_colleagues or [m.name for m in p.members if m.role != "supervisor"]
        return [n for n in names if n != ctx.actor]

    def ask_consult_who(self, ctx: Ctx) -> list[Prompt]:
        kind = ctx.state.answers["consult"]
        options = tuple(Choice(n, n) for n in self.consultees(ctx, kind))
        return [ask(ctx, "member", t("consult_who", kind=kind), choices=options)]

    def read_consult_who(self, ctx: Ctx, raw: Any) -> str:
        return read_choice(raw, self.ask_consult_who(ctx)[0].choices)

    def ask_consult_question(self, ctx: Ctx) -> list[Prompt]:
        return [ask(ctx, "text", t("consult_question", who=ctx.state.answers["consult_who"]), max_length=500)]

    def read_consult_question(self, ctx: Ctx, raw: Any) -> str:
        return read_text(raw, max_length=500)

    def send_consult(self, ctx: Ctx, value: str) -> list[Effect]:
        a = ctx.state.answers
        return [
            Effect(
                "ask_consult", {"kind": a["consult"], "member": a["consult_who"], "question": value, "step": "consult"}
            )
        ]

    def call_fields(self, ctx: Ctx) -> tuple[FormField, ...]:
        return (
            FormField("spoken_on", t("f_spoken_on"), "date", default=str(ctx.today)),
            FormField("spoken_to", t("f_spoken_to"), "text", max_length=120),
            FormField("reference_number", t("f_reference_number"), "text", required=False, max_length=80),
            FormField("advice", t("f_advice"), "text", max_length=500),
        )

    def ask_consult_call(self, ctx: Ctx) -> list[Prompt]:
        kind = ctx.state.answers["consult"]
        contact = getattr(ctx.practice, kind)
        script = t("call_script", request=ctx.request, step="review")
        return [
            Prompt(
                kind="notice", text=t("call_contact", kind=kind, contact=contact, script=script), header=header(ctx)
            ),
            ask(ctx, "form", t("call_outcome"), fields=self.call_fields(ctx)),
        ]

    def read_consult_call(self, ctx: Ctx, raw: Any) -> dict[str, Any]:
        bounds = {"spoken_on": {"not_after": ctx.today, "not_before": ctx.request.received_on}}
        return read_form(raw, self.call_fields(ctx), **bounds)

    def record_call(self, ctx: Ctx, value: dict[str, Any]) -> list[Effect]:
        return [Effect("record_call", {"kind": ctx.state.answers["consult"], "step": "consult", **value})]

    # ------------------------------------------------------- release or deny
    def review_findings(self, ctx: Ctx) -> dict[str, Any]:
        return ctx.state.answers.get("findings", {})

    def withholding(self, ctx: Ctx) -> bool:
        f = self.review_findings(ctx)
        return f.get("psychotherapy_notes") == "separate_withhold" or f.get("others_info") == "withhold"

    def decision_values(self, ctx: Ctx) -> tuple[str, ...]:
        if self.review_findings(ctx).get("risk") == "yes":
            return ("partial_denial", "denial")
        if self.withholding(ctx):
            return ("partial_denial", "denial")
        return ("release", "partial_denial", "denial")

    def ask_decision(self, ctx: Ctx) -> list[Prompt]:
        f = self.review_findings(ctx)
        text = t("decision", findings=f, withholding=self.withholding(ctx))
        return [ask(ctx, "choice", text, choices=choices("decision", self.decision_values(ctx)))]

    def read_decision(self, ctx: Ctx, raw: Any) -> str:
        return read_choice(raw, choices("decision", self.decision_values(ctx)))

    def record_decision(self, ctx: Ctx, value: str) -> list[Effect]:
        return [Effect("update_request", {"step": value})]

    def chose_release(self, ctx: Ctx, value: Any) -> bool:
        return value == "release"

    def is_partial_denial(self, ctx: Ctx, value: Any) -> bool:
        return ctx.state.answers.get("decision") == "partial_denial"

    def release_fields(self, ctx: Ctx) -> tuple[FormField, ...]:
        r = ctx.request
        fields = (
            FormField("released_on", t("f_released_on"), "date", default=str(ctx.today)),
            FormField("method", t("f_method"), "choice", choices("delivery", DELIVERIES), default=r.delivery),
            FormField("included", t("f_included"), "text", max_length=1000),
            FormField("fee", t("f_fee"), "text", required=False, max_length=10, default="0"),
        )
        if r.third_party_direction and not r.direction_on_file:
            fields += (
                FormField("direction_on_file", t("f_direction_on_file"), "choice", choices("yesno", ("no", "yes"))),
            )
        return fields

    def release_blockers(self, ctx: Ctx) -> list[str]:
        r = ctx.request
        blockers = []
        if r.delivery == "unencrypted_email" and r.email_risk_accepted_on is None:
            blockers.append(t("blocked_email_risk"))
        if r.acknowledged_on is None:
            blockers.append(t("blocked_ack"))
        return blockers

    def ask_release(self, ctx: Ctx) -> list[Prompt]:
        blockers = self.release_blockers(ctx)
        return [ask(ctx, "form", t("release", blockers=blockers), fields=self.release_fields(ctx))]

    def read_release(self, ctx: Ctx, raw: Any) -> dict[str, Any]:
        blockers = self.release_blockers(ctx)
        if blockers:
            raise Invalid(blockers[0])
        bounds = {"released_on": {"not_after": ctx.today, "not_before": ctx.request.received_on}}
        values = read_form(raw, self.release_fields(ctx), **bounds)
        if values.pop("direction_on_file", "yes") != "yes":
            raise Invalid(t("blocked_direction"), fields={"direction_on_file": t("blocked_direction")})
        fee = str(values.get("fee") or "0").strip().lstrip("$")
        try:
            cents = round(float(fee) * 100)
            if cents < 0:
                raise ValueError
        except ValueError:
            raise Invalid(t("bad_fee", given=fee), fields={"fee": t("bad_fee", given=fee)}) from None
        values["fee_cents"] = cents
        del values["fee"]
        if values["method"] == "unencrypted_email" and ctx.request.email_risk_accepted_on is None:
            raise Invalid(t("blocked_email_risk"), fields={"method": t("blocked_email_risk")})
        return values

    def record_release_details(self, ctx: Ctx, value: dict[str, Any]) -> list[Effect]:
        fields: dict[str, Any] = {"release": value}
        if ctx.request.third_party_direction:
            fields["direction_on_file"] = True  # release is refused above unless the signed direction is on file
        return [Effect("update_request", fields)]

    def ask_release_letter(self, ctx: Ctx) -> list[Prompt]:
        body = drafting.draft("release_cover", ctx.request, ctx.practice, ctx.today)
        return [ask(ctx, "draft", t("release_letter"), body=body, choices=choices("send", ("sent", "not_yet")))]

    def read_letter_sent(self, ctx: Ctx, raw: Any) -> str:
        value = read_choice(raw, choices("send", ("sent", "not_yet")))
        kinds = {"release_letter": ("release_cover",), "denial_letter": (ctx.state.answers.get("decision", "denial"),)}
        for kind in kinds.get(ctx.state.step, ()):
            _, problem = drafting.attempt(kind, ctx.request, ctx.practice, ctx.today)
            if value == "sent" and problem:
                raise Invalid(t("letter_blocked", kind=kind, problem=problem))
        return value

    def letter_sent(self, ctx: Ctx, value: Any) -> bool:
        return value == "sent"

    def record_release(self, ctx: Ctx, value: str) -> list[Effect]:
        if value != "sent":
            return []
        r = ctx.request
        body = drafting.draft("release_cover", r, ctx.practice, ctx.today)
        released_on = date.fromisoformat(r.release["released_on"]) if r.release.get("released_on") else ctx.today
        return [
            Effect("save_draft", {"kind": "release_cover", "body": body, "sent_on": ctx.today}),
            Effect("update_request", {"released_on": released_on, "status": "released", "step": "follow_up"}),
            Effect("post_channel", {"event": "closed"}),
        ]

    def denial_fields(self, ctx: Ctx) -> tuple[FormField, ...]:
        reviewers = tuple(Choice(m.name, m.name) for m in ctx.practice.members if m.licensed and m.name != ctx.actor)
        fields = [
            FormField("grounds", t("f_grounds"), "checklist", choices("ground", DENIAL_GROUNDS)),
            FormField("explanation", t("f_explanation"), "text", max_length=1000),
        ]
        if reviewers:
            fields.append(FormField("reviewer", t("f_reviewer"), "member", reviewers, required=False))
        return tuple(fields)

    def ask_denial(self, ctx: Ctx) -> list[Prompt]:
        f = self.review_findings(ctx)
        return [ask(ctx, "form", t("denial", findings=f), fields=self.denial_fields(ctx))]

    def read_denial(self, ctx: Ctx, raw: Any) -> dict[str, Any]:
        values = read_form(raw, self.denial_fields(ctx))
        if not values["grounds"]:
            raise Invalid(t("no_grounds"), fields={"grounds": t("no_grounds")})
        reviewable = any(g in REVIEWABLE_GROUNDS for g in values["grounds"])
        if reviewable and not values.get("reviewer"):
            raise Invalid(t("needs_reviewer"), fields={"reviewer": t("needs_reviewer")})
        values["reviewable"] = reviewable
        drafting.check_denial(ctx.request, ctx.practice, values)  # a letter missing a required element is refused here
        return values

    def record_denial_details(self, ctx: Ctx, value: dict[str, Any]) -> list[Effect]:
        return [Effect("update_request", {"denial": value})]

    def ask_denial_letter(self, ctx: Ctx) -> list[Prompt]:
        kind = ctx.state.answers.get("decision", "denial")
        body = drafting.draft(kind, ctx.request, ctx.practice, ctx.today)
        prompts = [
            ask(ctx, "draft", t("denial_letter", kind=kind), body=body, choices=choices("send", ("sent", "not_yet")))
        ]
        if kind == "partial_denial":
            cover = drafting.draft("release_cover", ctx.request, ctx.practice, ctx.today)
            prompts.insert(0, Prompt(kind="notice", text=t("cover_with_partial"), body=cover, header=header(ctx)))
        return prompts

    def record_denial(self, ctx: Ctx, value: str) -> list[Effect]:
        if value != "sent":
            return []
        r = ctx.request
        kind = ctx.state.answers.get("decision", "denial")
        effects = [
            Effect(
                "save_draft",
                {"kind": kind, "body": drafting.draft(kind, r, ctx.practice, ctx.today), "sent_on": ctx.today},
            )
        ]
        fields: dict[str, Any] = {
            "status": "partially_denied" if kind == "partial_denial" else "denied",
            "step": "follow_up",
        }
        if kind == "partial_denial":
            effects.append(
                Effect(
                    "save_draft",
                    {
                        "kind": "release_cover",
                        "body": drafting.draft("release_cover", r, ctx.practice, ctx.today),
                        "sent_on": ctx.today,
                    },
                )
            )
            fields["released_on"] = (
                date.fromisoformat(r.release["released_on"]) if r.release.get("released_on") else ctx.today
            )
        return [*effects, Effect("update_request", fields), Effect("post_channel", {"event": "closed"})]

    # -------------------------------------------------------------- follow up
    def ask_follow_up(self, ctx: Ctx) -> list[Prompt]:
        options = choices("outcome", ("waiting", "moved_on", "shared_third_party", "board_complaint"))
        return [ask(ctx, "choice", t("follow_up", reference=ctx.request.reference), choices=options)]

    def read_follow_up(self, ctx: Ctx, raw: Any) -> str:
        return read_choice(raw, self.ask_follow_up(ctx)[0].choices)

    def still_waiting(self, ctx: Ctx, value: Any) -> bool:
        return value == "waiting"

    def record_outcome(self, ctx: Ctx, value: str) -> list[Effect]:
        if value == "waiting":
            return []
        return [
            Effect("update_request", {"outcome": value, "status": "closed", "closed_on": ctx.today, "step": "closed"})
        ]


FLOWS: dict[str, Flow] = {RecordsRequestFlow.name: RecordsRequestFlow()}
