"""Timeframe: the deadline with its rules and citations, a target date, or the one extension."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from bot.answers import read_choice, read_date, read_text
from bot.domain.deadlines import is_business_day, last_business_day_before
from bot.engine import Ctx, Effect, Invalid
from bot.prompts import Choice, Prompt
from bot.services import drafting
from flows.steps import rights
from flows.steps.common import ask, choices, last_day, last_day_note, send_by, t

LATE_TARGET_DAYS = 7
DROP_WORDS = ("back", "cancel", "never mind", "nevermind", "no", "don't extend", "dont extend")


class TimeframeSteps:
    """Timeframe: the deadline with its rules and citations, a target date, or the one extension."""

    def extension_allowed(self, ctx: Ctx) -> bool:
        return ctx.request.extension_open(ctx.today)

    def timeframe_choices(self, ctx: Ctx) -> tuple[Choice, ...]:
        values = ("on_track", "extension") if self.extension_allowed(ctx) else ("on_track",)
        # with a day left there is no target date to pick: release by the deadline, or extend today
        return choices("timeframe_last" if last_day(ctx) else "timeframe", values)

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
            last_day=last_day_note(ctx),
        )
        return [ask(ctx, "choice", text, choices=self.timeframe_choices(ctx))]

    def read_timeframe(self, ctx: Ctx, raw: Any) -> str:
        return read_choice(raw, self.timeframe_choices(ctx))

    def chose_extension(self, ctx: Ctx, value: Any) -> bool:
        return value == "extension"

    def record_timeframe(self, ctx: Ctx, value: str) -> list[Effect]:
        if value == "on_track" and last_day(ctx):
            return self.record_target(ctx, send_by(ctx))
        return []

    def target_is_the_deadline(self, ctx: Ctx, value: Any) -> bool:
        return value == "on_track" and last_day(ctx)

    def open_day(self, ctx: Ctx, day: date) -> bool:
        """The practice is open: a weekday, not a holiday, not one of its own closed days (for its target only)."""
        return is_business_day(day, ctx.request.jurisdiction) and day not in ctx.practice.closed_days

    def suggested_target(self, ctx: Ctx) -> date:
        due = ctx.request.effective_due
        target = due - timedelta(days=3)
        while not self.open_day(ctx, target) and target > ctx.today:
            target -= timedelta(days=1)
        return min(max(target, ctx.today), self.latest_target(ctx))

    def latest_target(self, ctx: Ctx) -> date:
        """The deadline; for a request already past it, within the week (there is no later 'on time')."""
        due = ctx.request.effective_due
        return due if ctx.today <= due else ctx.today + timedelta(days=LATE_TARGET_DAYS)

    def ask_target(self, ctx: Ctx) -> list[Prompt]:
        suggested, due = self.suggested_target(ctx), ctx.request.effective_due
        text = t("target", due=due, suggested=suggested, overdue=ctx.today > due)
        return [ask(ctx, "date", text, default=str(suggested))]

    def read_target(self, ctx: Ctx, raw: Any) -> date:
        # a target is a day still ahead (today at the earliest), and never past the deadline
        day = read_date(raw, not_before=ctx.today, not_after=self.latest_target(ctx), what=t("w_target"))
        if day in ctx.practice.closed_days:
            raise Invalid(rights.t("target_closed", day=day))
        return day

    def after_target(self, ctx: Ctx, value: Any) -> str:
        return ctx.state.answers.get("return_to") or "review"

    def record_target(self, ctx: Ctx, value: date) -> list[Effect]:
        return [Effect("update_request", {"target_on": value, "status": "in_review", "step": "review"})]

    def ca_summary_extension(self, ctx: Ctx) -> bool:
        """Cal. HSC 123130(a): only a record of extraordinary length or a recent discharge may delay a summary."""
        return (ctx.request.deadline or {}).get("extension_rule") == "ca_summary"

    def ask_extension_reason(self, ctx: Ctx) -> list[Prompt]:
        if self.ca_summary_extension(ctx):
            reasons = rights.options("ca_reason", ("extraordinary_length", "recent_discharge", "back"))
            return [ask(ctx, "choice", rights.t("ca_extension_reason", due=ctx.request.due_on), choices=reasons)]
        return [ask(ctx, "text", t("extension_reason", due=ctx.request.due_on), max_length=500)]

    def read_reason(self, ctx: Ctx, raw: Any) -> str:
        if self.ca_summary_extension(ctx):
            reason = read_choice(raw, self.ask_extension_reason(ctx)[0].choices)
            return "dropped" if reason == "back" else reason
        reason = read_text(raw, max_length=500)
        # "back" or "never mind" is not a reason the client should read: it drops the extension
        return "dropped" if reason.lower().strip(" .!") in DROP_WORDS else reason

    def ask_extension_date(self, ctx: Ctx) -> list[Prompt]:
        r = ctx.request
        latest = r.extended_due_on
        # suggest a day the practice is open: the last business day on or before the latest allowed date
        suggested = (
            latest if is_business_day(latest, r.jurisdiction) else last_business_day_before(latest, r.jurisdiction)
        )
        suggested = max(suggested, r.due_on + timedelta(days=1))
        return [ask(ctx, "date", t("extension_date", latest=latest, suggested=suggested), default=str(suggested))]

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
                choices=choices("extension_send", ("sent", "not_yet", "dropped")),
            )
        ]

    def read_extension_notice(self, ctx: Ctx, raw: Any) -> str:
        if not self.extension_allowed(ctx):
            read_choice(raw, choices("back", ("back",)))
            return "closed"
        value = read_choice(raw, choices("extension_send", ("sent", "not_yet", "dropped")))
        extra = self.extension_context(ctx)
        _, problem = drafting.attempt("extension_notice", ctx.request, ctx.practice, ctx.today, **extra)
        if value == "sent" and problem:
            raise Invalid(t("letter_blocked", kind="extension_notice", problem=problem))
        return value

    def record_extension(self, ctx: Ctx, value: str) -> list[Effect]:
        if value != "sent":
            return []
        extra = self.extension_context(ctx)
        body = drafting.draft("extension_notice", ctx.request, ctx.practice, ctx.today, stored=True, **extra)
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

    def extension_dropped(self, ctx: Ctx, value: Any) -> bool:
        return value == "dropped"

    def back_from_extension(self, ctx: Ctx, value: Any) -> str:
        return ctx.state.answers.get("return_to") or "timeframe"

    def extension_sent(self, ctx: Ctx, value: Any) -> bool:
        return value == "sent"

    def extension_window_closed(self, ctx: Ctx, value: Any) -> bool:
        return value == "closed"
