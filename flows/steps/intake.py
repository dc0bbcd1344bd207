"""Intake: who asked, for what, when it arrived, how it goes out; the other participants."""

from __future__ import annotations

from typing import Any

from bot.answers import read_form, read_form_so_far
from bot.domain.phi import looks_identifying
from bot.engine import Ctx, Effect, Invalid
from bot.prompts import FormField, Prompt
from flows.steps.common import (
    ACCESS,
    CONSENT,
    CONTACT_FIELDS,
    DELIVERIES,
    EARLIEST_RECEIPT,
    FORMATS,
    FORMS,
    LANGUAGES,
    REQUESTERS,
    ask,
    choices,
    t,
)


class IntakeSteps:
    """Intake: who asked, for what, when it arrived, how it goes out; the other participants."""

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
            FormField("pages", t("f_pages"), "count", required=False, max_length=6, hint=t("h_pages")),
            FormField(
                "summary_agreed",
                t("f_summary_agreed"),
                "choice",
                choices("yesno", ("no", "yes")),
                default="no",
                hint=t("h_summary_agreed"),
                only_if=("access_type", "summary"),
            ),
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
        fields = self.intake_fields(ctx)
        # each check runs as soon as its fields are in, so a form filled in field by field hears it at that field
        values, problems = read_form_so_far(raw, fields, **bounds)
        if "client_label" in values and not ctx.practice.phi_in_chat and looks_identifying(values["client_label"]):
            problems["client_label"] = t("label_identifies")
        if (
            values.get("delivery") in ("encrypted_email", "unencrypted_email", "portal")
            and values.get("form") == "paper"
        ):
            problems["delivery"] = t("paper_by_email")
        if values.get("access_type") == "summary" and values.get("summary_agreed", "yes") != "yes":
            problems["summary_agreed"] = t("summary_needs_agreement")
        email = values.get("client_email")
        if email and ("@" not in email or " " in email.strip()):
            problems["client_email"] = t("bad_email", given=email)
        if problems:
            first = next(f.name for f in fields if f.name in problems)
            raise Invalid(problems[first], fields=problems)
        values["third_party"] = values["third_party"] == "yes"
        return values

    def create_request(self, ctx: Ctx, values: dict[str, Any]) -> list[Effect]:
        return [Effect("create_request", dict(values)), Effect("post_channel", {"event": "created"})]

    def multi_party(self, ctx: Ctx, value: Any) -> bool:
        return value["therapy_format"] != "individual"

    def ask_parties(self, ctx: Ctx) -> list[Prompt]:
        fields = (FormField("others", t("f_others"), "text", max_length=200, hint=t("h_others")),)
        return [ask(ctx, "form", t("parties", format=ctx.request.therapy_format), fields=fields)]

    def read_parties(self, ctx: Ctx, raw: Any) -> dict[str, Any]:
        values = read_form(raw, self.ask_parties(ctx)[0].fields)
        labels = [p.strip() for p in values["others"].split(",") if p.strip()]
        if not labels or any(len(label) > 40 for label in labels) or len(set(labels)) != len(labels):
            raise Invalid(t("bad_parties"), fields={"others": t("bad_parties")})
        return {"labels": labels}

    # Each participant's authorization is their own: asked and recorded one by one.
    def party_labels(self, ctx: Ctx) -> list[str]:
        return list((ctx.state.answers.get("parties") or {}).get("labels", []))

    def ask_party_consents(self, ctx: Ctx) -> list[Prompt]:
        fields = tuple(
            FormField(f"consent_{n}", t("f_consent_of", label=label), "choice", choices("consent", CONSENT))
            for n, label in enumerate(self.party_labels(ctx), 1)
        )
        return [ask(ctx, "form", t("party_consents"), fields=fields)]

    def read_party_consents(self, ctx: Ctx, raw: Any) -> dict[str, Any]:
        values = read_form(raw, self.ask_party_consents(ctx)[0].fields)
        labels = self.party_labels(ctx)
        return {"parties": [{"label": label, "consent": values[f"consent_{n}"]} for n, label in enumerate(labels, 1)]}

    def save_parties(self, ctx: Ctx, value: dict[str, Any]) -> list[Effect]:
        return [Effect("update_request", {"parties": value["parties"]})]
