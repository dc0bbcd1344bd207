"""Acknowledge the request; unencrypted-email warning; a third party's signed direction."""

from __future__ import annotations

from datetime import date
from typing import Any

from bot.answers import read_choice, read_date
from bot.engine import Ctx, Effect, Invalid
from bot.prompts import Prompt
from bot.services import drafting
from flows.steps.common import DELIVERIES, ask, choices, t


class AcknowledgeSteps:
    """Acknowledge the request; unencrypted-email warning; a third party's signed direction."""

    def ack_values(self, ctx: Ctx, problem: str | None = None, *, drafted: bool = False) -> tuple[str, ...]:
        """Without a letter we can draft, the only "sent" is the practice's own letter."""
        if not drafted:
            _, problem = drafting.attempt("acknowledgement", ctx.request, ctx.practice, ctx.today)
        return ("sent_own", "later") if problem else ("sent_today", "sent_other", "later")

    def ask_acknowledge(self, ctx: Ctx) -> list[Prompt]:
        body, problem = drafting.attempt("acknowledgement", ctx.request, ctx.practice, ctx.today)  # drafted once
        options = choices("ack", self.ack_values(ctx, problem, drafted=True))
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
        body = drafting.draft("acknowledgement", ctx.request, ctx.practice, ctx.today, stored=True)
        return [
            Effect("save_draft", {"kind": "acknowledgement", "body": body, "sent_on": ctx.today}),
            Effect("update_request", {"acknowledged_on": ctx.today, "status": "acknowledged"}),
        ]

    def sent_another_day(self, ctx: Ctx, value: Any) -> bool:
        return value == "sent_other"

    # Guards read the answers (this one included): the request row only changes once the answer is taken.
    def acked(self, ctx: Ctx) -> bool:
        answer = ctx.state.answers.get("acknowledge")
        return answer in ("sent_today", "sent_own") or (
            answer == "sent_other" and "acknowledge_date" in ctx.state.answers
        )

    def email_settled(self, ctx: Ctx) -> bool:
        """No unencrypted email, or the client confirmed it after the warning, or chose another way."""
        answers = ctx.state.answers
        return (
            ctx.request.delivery != "unencrypted_email"
            or answers.get("email_risk") == "confirmed"
            or "delivery_change" in answers
        )

    def ready_for_timeframe(self, ctx: Ctx, value: Any) -> bool:
        direction_done = not ctx.request.third_party_direction or "direction" in ctx.state.answers
        return self.acked(ctx) and self.email_settled(ctx) and direction_done

    def ask_acknowledge_date(self, ctx: Ctx) -> list[Prompt]:
        return [ask(ctx, "date", t("acknowledge_date"))]

    def read_acknowledge_date(self, ctx: Ctx, raw: Any) -> date:
        return read_date(raw, not_before=ctx.request.received_on, not_after=ctx.today, what=t("w_ack_date"))

    def record_acknowledgement_date(self, ctx: Ctx, value: date) -> list[Effect]:
        body = drafting.draft("acknowledgement", ctx.request, ctx.practice, value, stored=True)
        return [
            Effect("save_draft", {"kind": "acknowledgement", "body": body, "sent_on": value}),
            Effect("update_request", {"acknowledged_on": value, "status": "acknowledged"}),
        ]

    def needs_email_risk(self, ctx: Ctx, value: Any) -> bool:
        answered = ctx.state.answers.get("email_risk") in ("confirmed", "other")
        return self.acked(ctx) and ctx.request.delivery == "unencrypted_email" and not answered

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
        body = drafting.draft("email_risk_notice", ctx.request, ctx.practice, ctx.today, stored=True)
        return [
            Effect("save_draft", {"kind": "email_risk_notice", "body": body, "sent_on": ctx.today}),
            Effect("update_request", {"email_risk_accepted_on": ctx.today}),
        ]

    def chose_other_delivery(self, ctx: Ctx, value: Any) -> bool:
        return value == "other"

    def ask_delivery_change(self, ctx: Ctx) -> list[Prompt]:
        options = choices("delivery", tuple(d for d in DELIVERIES if d != "unencrypted_email"))
        return [ask(ctx, "choice", t("delivery_change"), choices=options)]

    def read_delivery_change(self, ctx: Ctx, raw: Any) -> str:
        return read_choice(raw, self.ask_delivery_change(ctx)[0].choices)

    def record_delivery_change(self, ctx: Ctx, value: str) -> list[Effect]:
        form = "paper" if value in ("pickup", "mail") and ctx.request.form == "paper" else ctx.request.form
        return [Effect("update_request", {"delivery": value, "form": form})]

    def needs_direction(self, ctx: Ctx, value: Any) -> bool:
        # requests taken before the direction was asked at intake still meet it here, after the acknowledgement
        pending = bool(ctx.request.third_party_direction) and "direction" not in ctx.state.answers
        return pending and self.acked(ctx) and self.email_settled(ctx)

    # the direction step itself (recipient, kind of copy, document on file) is in flows/steps/rights.py
