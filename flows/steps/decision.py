"""Release or deny, the letters, and what happens next."""

from __future__ import annotations

from datetime import date
from typing import Any

from bot.answers import read_choice, read_form
from bot.engine import Ctx, Effect, Invalid
from bot.prompts import Choice, FormField, Prompt
from bot.services import drafting
from bot.text import say
from flows.steps import rights
from flows.steps.common import DELIVERIES, DENIAL_GROUNDS, REVIEWABLE_GROUNDS, ask, choices, header, t

OUTSIDE = "outside"
# grounds that can reach a whole record; the others (separately kept notes, material prepared for litigation, a
# confidential source, another person's information) only ever cover part of it
WHOLE_RECORD_GROUNDS = {"endanger_life", "personal_representative_harm", "minor_holds_right"}
# 45 CFR 164.502(g)(3); Cal. HSC 123115(a): offered only when a parent asked
MINOR_GROUND = "minor_holds_right"


class DecisionSteps:
    """Release or deny, the letters, and what happens next."""

    def review_findings(self, ctx: Ctx) -> dict[str, Any]:
        return ctx.state.answers.get("findings", {})

    def withholding(self, ctx: Ctx) -> bool:
        f = self.review_findings(ctx)
        return f.get("psychotherapy_notes") == "separate_withhold" or f.get("others_info") == "withhold"

    def decision_values(self, ctx: Ctx) -> tuple[str, ...]:
        if ctx.state.answers.get("representative") in rights.REPRESENTATIVE_GROUND:
            return ("denial",)  # the person asking may not have these records (164.502(g)(3); 164.524(a)(3)(iii))
        if self.review_findings(ctx).get("risk") == "yes":
            return ("partial_denial", "denial")
        if self.withholding(ctx):
            # withholding separately kept notes or others' information never withholds the rest (Riverside, 2020)
            return ("partial_denial",)
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

    def letter_kind(self, ctx: Ctx) -> str:
        """partial_denial or denial: the decision, as the denial form may have corrected it."""
        return (ctx.state.answers.get("denial") or {}).get("letter") or ctx.state.answers.get("decision", "denial")

    def is_partial_denial(self, ctx: Ctx, value: Any) -> bool:
        return self.letter_kind(ctx) == "partial_denial"

    def release_fields(self, ctx: Ctx) -> tuple[FormField, ...]:
        r = ctx.request
        estimate = f"{(r.fee_estimate_cents or 0) / 100:.2f}"  # what the client was told in advance
        fields = (
            FormField("released_on", t("f_released_on"), "date", default=str(ctx.today)),
            FormField("method", t("f_method"), "choice", choices("delivery", DELIVERIES), default=r.delivery),
            FormField("included", t("f_included"), "text", max_length=1000),
            FormField("fee", t("f_fee"), "amount", required=False, max_length=10, default=estimate),
        )
        if r.third_party_direction and not r.direction_on_file:
            label = rights.t("f_direction_on_file", kind=self.direction_kind(ctx))  # type: ignore[attr-defined]
            fields += (FormField("direction_on_file", label, "choice", choices("yesno", ("no", "yes"))),)
        return fields

    def release_blockers(self, ctx: Ctx) -> list[str]:
        r = ctx.request
        blockers = []
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
            blocked = rights.t("blocked_direction", kind=self.direction_kind(ctx))  # type: ignore[attr-defined]
            raise Invalid(blocked, fields={"direction_on_file": blocked})
        cents = values.pop("fee") or 0
        fees = ctx.practice.fees
        if values["method"] != "pickup" and ctx.request.form == "electronic" and fees.use_electronic_flat_fee:
            flat = round(fees.electronic_flat_fee * 100)
            if cents > flat:  # the flat fee is all there is to charge (HHS FAQ 2030)
                reason = say("fees.over_flat_fee", flat=f"${fees.electronic_flat_fee:.2f}")
                raise Invalid(reason, fields={"fee": reason})
        values["fee_cents"] = cents
        if values["method"] == "unencrypted_email" and ctx.request.email_risk_accepted_on is None:
            raise Invalid(t("blocked_email_risk"), fields={"method": t("blocked_email_risk")})
        return values

    def record_release_details(self, ctx: Ctx, value: dict[str, Any]) -> list[Effect]:
        kept = {k: v for k, v in (ctx.request.release or {}).items() if k == "direction"}  # who the copy goes to
        fields: dict[str, Any] = {"release": {**kept, **value}}
        if ctx.request.third_party_direction:
            fields["direction_on_file"] = True  # release is refused above unless the signed direction is on file
        return [Effect("update_request", fields)]

    def ask_release_letter(self, ctx: Ctx) -> list[Prompt]:
        body = drafting.draft("release_cover", ctx.request, ctx.practice, ctx.today)
        return [ask(ctx, "draft", t("release_letter"), body=body, choices=choices("send", ("sent", "not_yet")))]

    def read_letter_sent(self, ctx: Ctx, raw: Any) -> str:
        value = read_choice(raw, choices("send", ("sent", "not_yet")))
        kinds = {"release_letter": ("release_cover",), "denial_letter": (self.letter_kind(ctx),)}
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
        body = drafting.draft("release_cover", r, ctx.practice, ctx.today, stored=True)
        released_on = date.fromisoformat(r.release["released_on"]) if r.release.get("released_on") else ctx.today
        return [
            Effect("save_draft", {"kind": "release_cover", "body": body, "sent_on": ctx.today}),
            Effect("update_request", {"released_on": released_on, "status": "released", "step": "follow_up"}),
            Effect("post_channel", {"event": "closed"}),
        ]

    def denial_fields(self, ctx: Ctx) -> tuple[FormField, ...]:
        # the reviewing official took no part in the denial: not the clinician, not a colleague consulted on it
        taking_part = {ctx.actor, *ctx.consulted}
        reviewers = tuple(
            Choice(m.name, m.name) for m in ctx.practice.members if m.licensed and m.name not in taking_part
        )
        # a solo practice (or one whose colleagues took part) names its pre-arranged outside reviewer instead
        reviewers += (Choice(OUTSIDE, t("outside_reviewer_choice")),)
        decided = ctx.state.answers.get("decision", "denial")
        kinds = tuple(k for k in ("partial_denial", "denial") if k in self.decision_values(ctx))  # the same limits
        grounds = DENIAL_GROUNDS + ((MINOR_GROUND,) if ctx.request.requester_type == "parent_of_minor" else ())
        required = self.representative_ground(ctx)  # type: ignore[attr-defined]
        # the kind of letter was chosen a moment ago: asked again only if that choice is not one the review allows
        letter = (
            ()
            if decided in kinds
            else (
                FormField("letter", t("f_letter"), "choice", choices("decision", kinds), default=(kinds or (None,))[0]),
            )
        )
        fields = (
            *letter,
            FormField("grounds", t("f_grounds"), "checklist", choices("ground", grounds), default=required),
            FormField("withheld", t("f_withheld_what"), "text", max_length=500, hint=t("h_withheld_what")),
            FormField("explanation", t("f_explanation"), "text", required=False, max_length=1000),
            # a reviewing official only where a ground can be reviewed (164.524(a)(4)); an outside one only if chosen
            FormField(
                "reviewer",
                t("f_reviewer"),
                "member",
                reviewers,
                required=False,
                only_if=("grounds", REVIEWABLE_GROUNDS),
            ),
            FormField(
                "outside_reviewer",
                t("f_outside_reviewer"),
                "text",
                required=False,
                max_length=120,
                only_if=("reviewer", OUTSIDE),
            ),
        )
        # what a state asks of a denial for a risk to the client (reference sheet §6)
        if ctx.request.jurisdiction == "TX":
            duration = FormField(
                "duration", rights.t("f_duration"), "text", required=False, hint=rights.t("h_duration")
            )
            fields += (duration,)
        if ctx.request.jurisdiction == "CA":
            consequences = rights.t("f_consequences")
            hint = rights.t("h_consequences")
            fields += (FormField("consequences", consequences, "text", required=False, max_length=1000, hint=hint),)
        return fields

    def ask_denial(self, ctx: Ctx) -> list[Prompt]:
        f = self.review_findings(ctx)
        return [ask(ctx, "form", t("denial", findings=f), fields=self.denial_fields(ctx))]

    def read_denial(self, ctx: Ctx, raw: Any) -> dict[str, Any]:
        values = read_form(raw, self.denial_fields(ctx))
        values.setdefault("letter", ctx.state.answers.get("decision", "denial"))  # chosen at the decision step
        if not values["grounds"]:
            raise Invalid(t("no_grounds"), fields={"grounds": t("no_grounds")})
        required = self.representative_ground(ctx)  # type: ignore[attr-defined]
        if required and required not in values["grounds"]:
            reason = rights.t("needs_ground", ground_label=t("label", group="ground", value=required))
            raise Invalid(reason, fields={"grounds": reason})
        reviewable = any(g in REVIEWABLE_GROUNDS for g in values["grounds"])
        if reviewable and not values.get("reviewer"):
            raise Invalid(t("needs_reviewer"), fields={"reviewer": t("needs_reviewer")})
        if values.get("reviewer") == OUTSIDE:
            named = values.get("outside_reviewer") or ""
            if len(named) < 3 or not any(ch.isalpha() for ch in named):
                raise Invalid(t("needs_outside_reviewer"), fields={"outside_reviewer": t("needs_outside_reviewer")})
            values["reviewer"] = values["outside_reviewer"]
        values.pop("outside_reviewer", None)
        if "endanger_life" in values["grounds"] and self.review_findings(ctx).get("risk") != "yes":
            reason = t("ground_contradicts_review")
            raise Invalid(reason, fields={"grounds": reason})
        full = values["letter"] == "denial"
        if full and not set(values["grounds"]) & WHOLE_RECORD_GROUNDS:
            # these grounds reach only part of a record: the rest must still be provided (164.524(d)(1))
            raise Invalid(t("full_denial_needs_whole_ground"), fields={"grounds": t("full_denial_needs_whole_ground")})
        client_harm = "endanger_life" in values["grounds"]
        if client_harm and ctx.request.jurisdiction == "TX" and not values.get("duration"):
            raise Invalid(rights.t("needs_duration"), fields={"duration": rights.t("needs_duration")})
        if client_harm and ctx.request.jurisdiction == "CA" and not values.get("consequences"):
            raise Invalid(rights.t("needs_consequences"), fields={"consequences": rights.t("needs_consequences")})
        values["reviewable"] = reviewable
        if len(values["grounds"]) == 1:  # one ground: the item is what was named; several: asked next, one by one
            values["items"] = [{"what": values["withheld"], "ground": values["grounds"][0]}]
        drafting.check_denial(
            ctx.request, ctx.practice, values, today=ctx.today
        )  # a letter missing a required element is refused here
        return values

    def record_denial_details(self, ctx: Ctx, value: dict[str, Any]) -> list[Effect]:
        return [Effect("update_request", {"denial": value})]

    def refusal_note(self, ctx: Ctx, *, stored: bool = False) -> str | None:
        """California's note for the chart on a refusal for a risk to the client (Cal. HSC 123115(b)(1))."""
        if rights.state_rights(ctx.request) != "CA":
            return None
        return drafting.draft("refusal_note", ctx.request, ctx.practice, ctx.today, stored=stored, author=ctx.actor)

    def ask_denial_letter(self, ctx: Ctx) -> list[Prompt]:
        kind = self.letter_kind(ctx)
        body = drafting.draft(kind, ctx.request, ctx.practice, ctx.today)
        prompts = [
            ask(ctx, "draft", t("denial_letter", kind=kind), body=body, choices=choices("send", ("sent", "not_yet")))
        ]
        if kind == "partial_denial":
            cover = drafting.draft("release_cover", ctx.request, ctx.practice, ctx.today)
            prompts.insert(0, Prompt(kind="notice", text=t("cover_with_partial"), body=cover, header=header(ctx)))
        note = self.refusal_note(ctx)
        if note:
            prompts.insert(0, Prompt(kind="notice", text=rights.t("refusal_note"), body=note, header=header(ctx)))
        return prompts

    def record_denial(self, ctx: Ctx, value: str) -> list[Effect]:
        if value != "sent":
            return []
        r = ctx.request
        kind = self.letter_kind(ctx)
        effects = [
            Effect(
                "save_draft",
                {
                    "kind": kind,
                    "body": drafting.draft(kind, r, ctx.practice, ctx.today, stored=True),
                    "sent_on": ctx.today,
                },
            )
        ]
        note = self.refusal_note(ctx, stored=True)
        if note:
            effects.append(Effect("save_draft", {"kind": "refusal_note", "body": note, "sent_on": None}))
        fields: dict[str, Any] = {
            "status": "partially_denied" if kind == "partial_denial" else "denied",
            "step": "follow_up",
            "denial": {**(r.denial or {}), "sent_on": ctx.today.isoformat()},  # the follow-up is counted from it
        }
        if kind == "partial_denial":
            effects.append(
                Effect(
                    "save_draft",
                    {
                        "kind": "release_cover",
                        "body": drafting.draft("release_cover", r, ctx.practice, ctx.today, stored=True),
                        "sent_on": ctx.today,
                    },
                )
            )
            fields["released_on"] = (
                date.fromisoformat(r.release["released_on"]) if r.release.get("released_on") else ctx.today
            )
        return [*effects, Effect("update_request", fields), Effect("post_channel", {"event": "closed"})]

    def ask_follow_up(self, ctx: Ctx) -> list[Prompt]:
        values: tuple[str, ...] = ("waiting", "moved_on", "shared_third_party", "board_complaint")
        if rights.state_rights(ctx.request) and not (ctx.request.denial or {}).get("designated"):
            values = (values[0], "professional_named", *values[1:])  # the state right can be used later too
        options = choices("outcome", values)
        return [ask(ctx, "choice", t("follow_up", reference=ctx.request.reference), choices=options)]

    def read_follow_up(self, ctx: Ctx, raw: Any) -> str:
        return read_choice(raw, self.ask_follow_up(ctx)[0].choices)

    def still_waiting(self, ctx: Ctx, value: Any) -> bool:
        return value == "waiting"

    def record_outcome(self, ctx: Ctx, value: str) -> list[Effect]:
        if value in ("waiting", "professional_named"):
            return []
        return [
            Effect("update_request", {"outcome": value, "status": "closed", "closed_on": ctx.today, "step": "closed"})
        ]
