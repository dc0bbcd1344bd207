"""The practice's own details, asked once before the first request when letters could not be drafted without them."""

from __future__ import annotations

from typing import Any

from bot.config import PracticeSettings
from bot.engine import Ctx, Effect, Invalid
from bot.prompts import Choice, FormField, Prompt
from bot.services import practice_file
from bot.text import say


class SetupSteps:
    """The practice's own details, asked once before the first request when letters could not be drafted without them."""

    def opening_step(self, practice: PracticeSettings) -> str:
        """Where a new request starts: the practice's details first if a letter would be missing them."""
        return "practice_details" if practice_file.missing(practice) else "intake"

    def practice_detail_fields(self, ctx: Ctx) -> tuple[FormField, ...]:
        return tuple(
            FormField(
                detail,
                say("setup.label", detail=detail),
                "text",
                max_length=80,
                default=practice_file.default(detail, ctx.practice, {}) if detail != "privacy_phone" else None,
                required=detail != "privacy_phone",
                hint=say("setup.hint", detail=detail),
            )
            for detail in practice_file.missing(ctx.practice)
        )

    def ask_practice_details(self, ctx: Ctx) -> list[Prompt]:
        fields = self.practice_detail_fields(ctx)
        if not fields:  # another request set them meanwhile
            return [
                Prompt(kind="choice", text=say("setup.already_set"), choices=(Choice("go_on", say("setup.go_on")),))
            ]
        return [Prompt(kind="form", text=say("setup.intro"), fields=fields)]

    def read_practice_details(self, ctx: Ctx, raw: Any) -> dict[str, str]:
        fields = self.practice_detail_fields(ctx)
        if not fields:
            return {}
        if not isinstance(raw, dict):
            raise Invalid(say("form_expected"))
        values: dict[str, str] = {}
        errors: dict[str, str] = {}
        for field in fields:
            given = raw.get(field.name)
            if given is None or not str(given).strip():
                given = practice_file.default(field.name, ctx.practice, values)
            try:
                values[field.name] = practice_file.read_detail(field.name, given)
            except Invalid as exc:
                errors[field.name] = exc.reason
        if errors:
            first = next(iter(errors))
            label = say("setup.label", detail=first)
            raise Invalid(say("form_field_problem", label=label, reason=errors[first]), fields=errors)
        return values

    def save_practice_details(self, ctx: Ctx, values: dict[str, str]) -> list[Effect]:
        return [Effect("save_practice", dict(values))] if values else []
