"""Consult: a colleague or the supervisor in chat, the insurer or association by phone."""

from __future__ import annotations

from typing import Any

from bot.answers import read_choice, read_form, read_text
from bot.domain.phi import details_in, names_label
from bot.engine import Ctx, Effect, Invalid
from bot.prompts import Choice, FormField, Prompt
from flows.steps.common import CONSULT_KINDS, ask, choices, header, last_day_note, t

PHONE_KINDS = ("insurance", "association")


class ConsultSteps:
    """Consult: a colleague or the supervisor in chat, the insurer or association by phone."""

    def consult_kinds(self, ctx: Ctx) -> tuple[str, ...]:
        """Only the consults this practice can make: someone to ask, or a contact on file."""
        available = {
            "colleague": bool(self.consultees(ctx, "colleague")),
            "supervisor": bool(self.consultees(ctx, "supervisor")),
            "insurance": ctx.practice.insurance is not None,
            "association": ctx.practice.association is not None,
        }
        return tuple(k for k in CONSULT_KINDS if available.get(k, True))

    def ask_consult(self, ctx: Ctx) -> list[Prompt]:
        asked = list(ctx.consults)
        kinds = self.consult_kinds(ctx)
        in_chat = any(k in kinds for k in ("colleague", "supervisor"))
        text = t("consult", consults=asked, last_day=last_day_note(ctx), in_chat=in_chat)
        return [ask(ctx, "choice", text, choices=choices("consult", kinds))]

    def read_consult(self, ctx: Ctx, raw: Any) -> str:
        kind = read_choice(raw, choices("consult", self.consult_kinds(ctx)))
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
        kind = ctx.state.answers["consult"]
        who = getattr(ctx.practice, kind).name if kind in PHONE_KINDS else ctx.state.answers["consult_who"]
        return [ask(ctx, "text", t("consult_question", who=who), max_length=500)]

    def read_consult_question(self, ctx: Ctx, raw: Any) -> str:
        question = read_text(raw, max_length=500)
        labels = [ctx.request.client_label, *(p["label"] for p in ctx.request.parties or [])]
        named = next((label for label in labels if label.strip() and names_label(question, label.strip())), None)
        if named:
            raise Invalid(t("question_names_client", label=named))  # consult cards carry no PHI
        found = details_in(question, today=ctx.today, names=[ctx.client_name()] if ctx.practice.phi_in_chat else [])
        if found:
            raise Invalid(t("question_has_details", found=found))
        return question

    def send_consult(self, ctx: Ctx, value: str) -> list[Effect]:
        a = ctx.state.answers
        member = a.get("consult_who") if a["consult"] not in PHONE_KINDS else None
        return [Effect("ask_consult", {"kind": a["consult"], "member": member, "question": value, "step": "consult"})]

    def asking_by_phone(self, ctx: Ctx, value: Any) -> bool:
        return ctx.state.answers.get("consult") in PHONE_KINDS

    def can_email_summary(self, ctx: Ctx, value: Any) -> bool:
        kind = ctx.state.answers.get("consult")
        return kind in PHONE_KINDS and ctx.can_email and bool(getattr(ctx.practice, kind).email)

    def ask_consult_email(self, ctx: Ctx) -> list[Prompt]:
        contact = getattr(ctx.practice, ctx.state.answers["consult"])
        options = choices("email_summary", ("send", "skip"))
        return [ask(ctx, "choice", t("consult_email", contact=contact), choices=options)]

    def read_consult_email(self, ctx: Ctx, raw: Any) -> str:
        return read_choice(raw, choices("email_summary", ("send", "skip")))

    def email_summary(self, ctx: Ctx, value: str) -> list[Effect]:
        return [Effect("email_summary", {"kind": ctx.state.answers["consult"]})] if value == "send" else []

    def call_fields(self, ctx: Ctx) -> tuple[FormField, ...]:
        return (
            FormField("reached", t("f_reached"), "choice", choices("reached", ("spoke", "no_answer")), default="spoke"),
            FormField("spoken_on", t("f_spoken_on"), "date", default=str(ctx.today)),
            FormField("spoken_to", t("f_spoken_to"), "text", required=False, max_length=120),
            FormField("reference_number", t("f_reference_number"), "text", required=False, max_length=80),
            FormField("advice", t("f_advice"), "text", required=False, max_length=500),
        )

    def ask_consult_call(self, ctx: Ctx) -> list[Prompt]:
        kind = ctx.state.answers["consult"]
        contact = getattr(ctx.practice, kind)
        script = t(
            "call_script", request=ctx.request, step="consult", question=ctx.state.answers.get("consult_question")
        )
        return [
            Prompt(
                kind="notice", text=t("call_contact", kind=kind, contact=contact, script=script), header=header(ctx)
            ),
            ask(ctx, "form", t("call_outcome"), fields=self.call_fields(ctx)),
        ]

    def read_consult_call(self, ctx: Ctx, raw: Any) -> dict[str, Any]:
        bounds = {"spoken_on": {"not_after": ctx.today, "not_before": ctx.request.received_on}}
        values = read_form(raw, self.call_fields(ctx), **bounds)
        if values["reached"] == "spoke":
            missing = {k: t("call_needs", field=k) for k in ("spoken_to", "advice") if not values.get(k)}
            if missing:
                raise Invalid(next(iter(missing.values())), fields=missing)
        return values

    def record_call(self, ctx: Ctx, value: dict[str, Any]) -> list[Effect]:
        kind = ctx.state.answers["consult"]
        if value["reached"] != "spoke":  # no one to talk to: the consult is withdrawn, back to the menu
            return [Effect("withdraw_call", {"kind": kind})]
        outcome = {k: value[k] for k in ("spoken_on", "spoken_to", "reference_number", "advice")}
        return [Effect("record_call", {"kind": kind, "step": "consult", **outcome})]
