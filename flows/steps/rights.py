"""Who may have the records and on what ground: a parent or representative, each withheld item's own ground, the rights
a state gives beyond HIPAA, and a copy directed to someone else (reference sheet §1, §3, §6, §7)."""

from __future__ import annotations

from datetime import date
from typing import Any

from bot.answers import read_choice, read_form
from bot.domain.letters import CLIENT_HARM_GROUNDS, STATE_DENIAL_RIGHTS
from bot.engine import Ctx, Effect, Invalid
from bot.prompts import Choice, FormField, Prompt
from bot.services import drafting
from bot.text import say
from flows.steps.common import ask
from flows.steps.common import t as request_text

REPRESENTATIVE_ANSWERS = {
    "parent_of_minor": ("representative", "minor_right_deny", "minor_right_release", "harm"),
    "personal_representative": ("representative", "harm"),
}
# The ground a denial must carry after the check of who is asking (45 CFR 164.502(g)(3); 164.524(a)(3)(iii)).
REPRESENTATIVE_GROUND = {"minor_right_deny": "minor_holds_right", "harm": "personal_representative_harm"}
DIRECTED_KINDS = ("ehr_electronic", "authorization")


def t(key: str, **context: Any) -> str:
    """A sentence from templates/rights.j2."""
    return say(f"rights.{key}", **context)


def options(group: str, values: tuple[str, ...]) -> tuple[Choice, ...]:
    return tuple(Choice(v, t("label", group=group, value=v)) for v in values)


def state_rights(request: Any) -> str | None:
    """The state whose law gives the client more than HIPAA on this denial (a risk to the client), if any."""
    grounds = (request.denial or {}).get("grounds") or []
    if request.jurisdiction in STATE_DENIAL_RIGHTS and any(g in CLIENT_HARM_GROUNDS for g in grounds):
        return request.jurisdiction
    return None


class RightsSteps:
    """Who may have the records and on what ground; the rights a state adds; a copy sent to someone else."""

    # --- A parent or personal representative: checked at intake, followed at the decision ----------------------

    def needs_representative_check(self, ctx: Ctx, value: Any) -> bool:
        return value.get("requester_type") in REPRESENTATIVE_ANSWERS

    def representative_choices(self, ctx: Ctx) -> tuple[Choice, ...]:
        return options("representative", REPRESENTATIVE_ANSWERS[ctx.request.requester_type])

    def ask_representative(self, ctx: Ctx) -> list[Prompt]:
        text = t("representative", requester=ctx.request.requester_type, state=ctx.request.jurisdiction)
        return [ask(ctx, "choice", text, choices=self.representative_choices(ctx))]

    def read_representative(self, ctx: Ctx, raw: Any) -> str:
        return read_choice(raw, self.representative_choices(ctx))

    def record_representative(self, ctx: Ctx, value: str) -> list[Effect]:
        effects = [Effect("audit_only", {"action": "representative_checked", "after": {"answer": value}})]
        if value == "minor_right_release":
            # the minor asks for their own records: from here on the letters go to the minor, as the client
            effects.append(Effect("update_request", {"requester_type": "client"}))
        return effects

    def multi_party_request(self, ctx: Ctx, value: Any) -> bool:
        return ctx.request.therapy_format != "individual"

    def representative_ground(self, ctx: Ctx) -> str | None:
        """The ground the check of who is asking requires in the denial, if any."""
        return REPRESENTATIVE_GROUND.get(ctx.state.answers.get("representative", ""))

    # --- Several grounds: what is withheld on each ----------------------------------------------------------------

    def several_grounds(self, ctx: Ctx, value: Any) -> bool:
        return len(value.get("grounds") or []) > 1

    def item_fields(self, ctx: Ctx) -> tuple[FormField, ...]:
        denial = ctx.state.answers.get("denial") or {}
        grounds = denial.get("grounds") or []
        return tuple(
            FormField(
                f"what_{ground}",
                t("f_item", ground_label=request_text("label", group="ground", value=ground)),
                "text",
                max_length=300,
                hint=t("h_item"),
                default=denial.get("withheld") if i == 0 else None,
            )
            for i, ground in enumerate(grounds)
        )

    def ask_denial_items(self, ctx: Ctx) -> list[Prompt]:
        return [ask(ctx, "form", t("denial_items"), fields=self.item_fields(ctx))]

    def read_denial_items(self, ctx: Ctx, raw: Any) -> list[dict[str, str]]:
        values = read_form(raw, self.item_fields(ctx))
        return [{"what": values[f"what_{g}"], "ground": g} for g in ctx.state.answers["denial"]["grounds"]]

    def record_denial_items(self, ctx: Ctx, value: list[dict[str, str]]) -> list[Effect]:
        return [Effect("update_request", {"denial": {**(ctx.request.denial or {}), "items": value}})]

    # --- The professional the client names under state law (CA 123115(b), TX 611.0045(e), WA 70.02.090, NJ) -----

    def state_rights_offered(self, ctx: Ctx, value: Any) -> bool:
        return value == "sent" and state_rights(ctx.request) is not None

    def designated_fields(self) -> tuple[FormField, ...]:
        return (
            FormField("named", t("f_designated_choice"), "choice", options("designate", ("named", "not_yet"))),
            FormField("name", t("f_designated_name"), "text", required=False, max_length=120),
            FormField("role", t("f_designated_role"), "text", required=False, max_length=80),
        )

    def ask_designated(self, ctx: Ctx) -> list[Prompt]:
        state = state_rights(ctx.request) or ctx.request.jurisdiction
        text = t("designated", state=state, citation=STATE_DENIAL_RIGHTS[state])
        return [ask(ctx, "form", text, fields=self.designated_fields())]

    def read_designated(self, ctx: Ctx, raw: Any) -> dict[str, Any]:
        values = read_form(raw, self.designated_fields())
        if values["named"] == "named" and not (values.get("name") or "").strip():
            raise Invalid(t("needs_designated_name"), fields={"name": t("needs_designated_name")})
        return values

    def record_designated(self, ctx: Ctx, value: dict[str, Any]) -> list[Effect]:
        if value["named"] != "named":
            return []
        designated = {"name": value["name"], "role": value.get("role")}
        return [Effect("update_request", {"denial": {**(ctx.request.denial or {}), "designated": designated}})]

    def professional_named(self, ctx: Ctx, value: Any) -> bool:
        return value.get("named") == "named"

    def ask_designated_letter(self, ctx: Ctx) -> list[Prompt]:
        body = drafting.draft("designated_release", ctx.request, ctx.practice, ctx.today)
        name = ((ctx.request.denial or {}).get("designated") or {}).get("name")
        return [
            ask(
                ctx, "draft", t("designated_letter", name=name), body=body, choices=options("send", ("sent", "not_yet"))
            )
        ]

    def read_designated_letter(self, ctx: Ctx, raw: Any) -> str:
        value = read_choice(raw, options("send", ("sent", "not_yet")))
        _, problem = drafting.attempt("designated_release", ctx.request, ctx.practice, ctx.today)
        if value == "sent" and problem:
            raise Invalid(request_text("letter_blocked", kind="designated_release", problem=problem))
        return value

    def record_designated_letter(self, ctx: Ctx, value: str) -> list[Effect]:
        if value != "sent":
            return []
        denial = ctx.request.denial or {}
        body = drafting.draft("designated_release", ctx.request, ctx.practice, ctx.today, stored=True)
        designated = {**(denial.get("designated") or {}), "sent_on": ctx.today.isoformat()}
        return [
            Effect("save_draft", {"kind": "designated_release", "body": body, "sent_on": ctx.today}),
            Effect("update_request", {"denial": {**denial, "designated": designated}}),
        ]

    def naming_professional(self, ctx: Ctx, value: Any) -> bool:
        return value == "professional_named"

    # --- A copy directed to someone else (164.524(c)(3)(ii) as limited by Ciox v. Azar; otherwise 164.508) ------

    def direction_first(self, ctx: Ctx, value: Any) -> bool:
        """A copy for someone else: asked as the request is taken, before the acknowledgement."""
        if "direction" in ctx.state.answers:
            return False
        if isinstance(value, dict) and "third_party" in value:  # the intake answer itself
            return bool(value["third_party"])
        return bool(ctx.request is not None and ctx.request.third_party_direction)

    def not_acknowledged(self, ctx: Ctx, value: Any) -> bool:
        return not self.acked(ctx)  # type: ignore[attr-defined]

    def direction_fields(self, ctx: Ctx) -> tuple[FormField, ...]:
        return (
            FormField("recipient", t("f_recipient"), "text", max_length=120),
            # a paper copy is never under the client's direction after Ciox v. Azar: it needs an authorization
            FormField(
                "kind",
                t("f_directed_kind"),
                "choice",
                options("directed", DIRECTED_KINDS),
                default="authorization" if ctx.request.form == "paper" else None,
            ),
            FormField("on_file", t("f_direction_on_file", kind=None), "choice", options("on_file", ("no", "yes"))),
        )

    def ask_direction(self, ctx: Ctx) -> list[Prompt]:
        return [ask(ctx, "form", t("direction", state=ctx.request.jurisdiction), fields=self.direction_fields(ctx))]

    def read_direction(self, ctx: Ctx, raw: Any) -> dict[str, Any]:
        return read_form(raw, self.direction_fields(ctx))

    def record_direction(self, ctx: Ctx, value: dict[str, Any]) -> list[Effect]:
        direction = {"recipient": value["recipient"], "kind": value["kind"]}
        release = {**(ctx.request.release or {}), "direction": direction}
        return [Effect("update_request", {"direction_on_file": value["on_file"] == "yes", "release": release})]

    def direction_kind(self, ctx: Ctx) -> str | None:
        return ((ctx.request.release or {}).get("direction") or {}).get("kind")

    def closed_day(self, ctx: Ctx, day: date) -> bool:
        return day in set(ctx.practice.closed_days)
