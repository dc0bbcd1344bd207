"""Review: the checklist, what it found, and an addendum for errors."""

from __future__ import annotations

from typing import Any

from bot.answers import read_checklist, read_form
from bot.engine import Ctx, Effect, Invalid
from bot.prompts import FormField, Prompt
from bot.services import drafting
from flows.steps.common import (
    EARLIEST_RECEIPT,
    MULTI_PARTY_ITEM,
    OTHERS_INFO,
    PSYCHOTHERAPY_NOTES,
    REPRESENTATIVE_ITEM,
    REVIEW_ITEMS,
    ask,
    choices,
    t,
)


class ReviewSteps:
    """Review: the checklist, what it found, and an addendum for errors."""

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
        if self.parties_waiting(ctx):
            label = t("f_consent_now", parties=self.parties_waiting(ctx))
            fields.append(FormField("consent_now", label, "choice", choices("yesno", ("no", "yes")), default="no"))
        return tuple(fields)

    def parties_waiting(self, ctx: Ctx) -> list[str]:
        return [p["label"] for p in ctx.request.parties or [] if p.get("consent") != "given"]

    def ask_findings(self, ctx: Ctx) -> list[Prompt]:
        return [ask(ctx, "form", t("findings"), fields=self.findings_fields(ctx))]

    def read_findings(self, ctx: Ctx, raw: Any) -> dict[str, Any]:
        values = read_form(raw, self.findings_fields(ctx))
        waiting = [] if values.get("consent_now") == "yes" else self.parties_waiting(ctx)
        if waiting and values["others_info"] == "consented":
            # "they authorized" while the intake says they have not: settle it here, before anything is released
            reason = t("consent_missing", parties=waiting)
            raise Invalid(reason, fields={"others_info": reason})
        return values

    def record_findings(self, ctx: Ctx, value: dict[str, Any]) -> list[Effect]:
        effects = [Effect("audit_only", {"action": "review_findings", "after": value})]
        if value.get("consent_now") == "yes":
            parties = [{**p, "consent": "given"} for p in ctx.request.parties]
            effects.append(Effect("update_request", {"parties": parties}))
        return effects

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
