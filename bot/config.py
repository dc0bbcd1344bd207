"""Settings: secrets and URLs from the environment/.env, practice rules from practice.toml."""

from __future__ import annotations

import tomllib
from datetime import date, time
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.text import say

US_STATES = (
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY "
    "NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY"
).split()
JURISDICTIONS = ("US", *US_STATES)

Role = Literal["clinician", "supervisor", "admin"]


def valid_timezone(name: str) -> bool:
    """An IANA zone such as America/New_York; a folder of zones ("America", "Pacific") is not one."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # "Pacific" is a directory: IsADirectoryError
        return False
    return True


class SettingsError(Exception):
    """A setting is missing or has a value that is not accepted; the message says which and what is."""


class EnvSettings(BaseSettings):
    """Secrets and addresses, read from the environment and a .env file."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: str = "sqlite:///records-bot.db"
    practice_file: Path = Path("practice.toml")
    records_bot_key: str | None = None
    records_bot_key_file: Path = Path(".records-bot.key")
    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_app_token: str | None = None
    slack_api_url: str | None = None
    slack_api_timeout: float = 10.0  # seconds for one Web API call; a slower answer is retried from the outbox
    microsoft_app_id: str | None = None  # the Azure Bot's app id; unset: Teams local mode (no authentication)
    microsoft_app_password: str | None = None
    microsoft_app_type: Literal["MultiTenant", "SingleTenant", "UserAssignedMSI"] = "MultiTenant"
    microsoft_app_tenant_id: str | None = None
    port: int = 3000
    poll_interval_seconds: float = 15.0
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_from: str | None = None

    @property
    def chat_platforms(self) -> tuple[str, ...]:
        """The chat platforms messages can be delivered through: those whose sending credentials are set."""
        found = ("slack",) if self.slack_bot_token else ()
        return (*found, "teams") if self.microsoft_app_id else found

    @model_validator(mode="after")
    def _teams_tenant_when_needed(self) -> EnvSettings:
        if self.microsoft_app_id and self.microsoft_app_type != "MultiTenant" and not self.microsoft_app_tenant_id:
            raise ValueError(say("settings.teams_tenant_needed", app_type=self.microsoft_app_type))
        return self


class Member(BaseModel):
    """A person in the practice and what they may do."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=80)
    role: Role = "clinician"
    licensed: bool = True
    slack_user_id: str | None = None
    teams_user_id: str | None = None
    email: str | None = None


class Contact(BaseModel):
    """An outside contact reached by phone or email (insurer's risk line, professional association)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    phone: str = Field(min_length=7)
    email: str | None = None
    policy_number: str | None = None


class PrivacyContact(BaseModel):
    """The person or office that takes access complaints (45 CFR 164.530(a)(1)(ii)); denial letters carry it."""

    model_config = ConfigDict(extra="forbid")

    name_or_title: str = Field(min_length=1)
    phone: str = Field(min_length=7)


class ReminderSchedule(BaseModel):
    """When the assistant nudges: days are counted from receipt or back from the effective deadline."""

    model_config = ConfigDict(extra="forbid")

    acknowledge_after_days: int = Field(2, ge=0, le=30)
    before_deadline_days: list[int] = Field(default_factory=lambda: [10, 5, 2, 0])
    extension_window_days: int = Field(5, ge=1, le=29)
    overdue_every_days: int = Field(1, ge=1, le=7)
    follow_up_after_release_days: int = Field(30, ge=1, le=365)
    consult_nudge_after_hours: int = Field(24, ge=1, le=240)
    send_hour: int = Field(9, ge=0, le=23)
    quiet_hours_start: time = time(20, 0)
    quiet_hours_end: time = time(8, 0)

    @field_validator("before_deadline_days")
    @classmethod
    def _days_in_range(cls, value: list[int]) -> list[int]:
        if any(d < 0 or d > 60 for d in value):
            raise ValueError(say("settings.day_counts"))
        return sorted(set(value), reverse=True)


class FeeSchedule(BaseModel):
    """Cost-based fee inputs (45 CFR 164.524(c)(4)); all amounts in US dollars."""

    model_config = ConfigDict(extra="forbid")

    labour_per_hour: float = Field(20.0, ge=0)
    copy_minutes_per_100_pages: float = Field(15.0, ge=0)
    paper_per_page: float = Field(0.05, ge=0)
    portable_media: float = Field(3.00, ge=0)
    use_electronic_flat_fee: bool = True
    electronic_flat_fee: float = Field(6.50, ge=0, le=6.50)
    summary_fee: float = Field(0.0, ge=0)
    postage_estimate: float = Field(1.50, ge=0)  # added to the estimate when the copy is mailed


class CustomRule(BaseModel):
    """A stricter deadline the practice sets for itself."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    days: int = Field(ge=1, le=60)
    counting: Literal["calendar", "working"] = "calendar"
    access: list[Literal["copy", "inspect", "summary"]] = Field(default_factory=lambda: ["copy", "inspect", "summary"])
    citation: str = "Practice policy"


class PracticeSettings(BaseModel):
    """The practice's own settings file (practice.toml)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field("My Practice", min_length=1)
    phone: str | None = Field(None, min_length=7)  # the number clients call; letters say who to contact
    jurisdiction: str = "US"
    timezone: str = "America/New_York"
    hipaa_covered_entity: bool = True
    language: Literal["en", "es"] = "en"
    records_channel: str = "#records-requests"
    phi_in_chat: bool = False
    templates_dir: Path | None = None
    members: list[Member] = Field(default_factory=list)
    consult_colleagues: list[str] = Field(default_factory=list)
    insurance: Contact | None = None
    association: Contact | None = None
    privacy_contact: PrivacyContact | None = None
    reminders: ReminderSchedule = Field(default_factory=ReminderSchedule)
    fees: FeeSchedule = Field(default_factory=FeeSchedule)
    custom_rules: list[CustomRule] = Field(default_factory=list)
    # days the practice is closed: kept clear of for its own target date only; a legal deadline never moves for them
    closed_days: list[date] = Field(default_factory=list)

    @field_validator("jurisdiction")
    @classmethod
    def _known_jurisdiction(cls, value: str) -> str:
        code = value.strip().upper()
        if code not in JURISDICTIONS:
            raise ValueError(say("settings.jurisdiction"))
        return code

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        if not valid_timezone(value):
            raise ValueError(say("settings.timezone"))
        return value

    @model_validator(mode="after")
    def _names_refer_to_members(self) -> PracticeSettings:
        if not self.members:  # a practice with no file yet: one local member, so the terminal chat just works
            self.members = [Member(name="You", role="admin")]
        names = [m.name for m in self.members]
        dupes = {n for n in names if names.count(n) > 1}
        if dupes:
            raise ValueError(say("settings.duplicate_members", names=sorted(dupes)))
        for field in ("slack_user_id", "teams_user_id"):  # one chat account is one person
            ids = [getattr(m, field) for m in self.members if getattr(m, field)]
            shared = sorted({i for i in ids if ids.count(i) > 1})
            if shared:
                raise ValueError(say("settings.duplicate_accounts", field=field, ids=shared))
        unknown = [n for n in self.consult_colleagues if n not in names]
        if unknown:
            raise ValueError(say("settings.unknown_colleagues", names=unknown))
        return self

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def member(self, name: str) -> Member | None:
        return next((m for m in self.members if m.name.lower() == name.lower()), None)

    @property
    def supervisors(self) -> list[Member]:
        return [m for m in self.members if m.role == "supervisor"]


def _describe(error: ValidationError, source: str) -> str:
    lines = []
    for item in error.errors():
        # list positions counted from 1, as people count: members[2] is the second [[members]] entry
        where = "".join(f"[{p + 1}]" if isinstance(p, int) else f".{p}" for p in item["loc"]).lstrip(".") or say(
            "settings.whole_file"
        )
        msg = item["msg"].removeprefix("Value error, ")
        if item["type"] == "literal_error":
            msg = say("settings.accepted", values=msg.removeprefix("Input should be "))
        elif item["type"] == "extra_forbidden":
            msg = say("settings.unknown_setting")
        elif msg.startswith("Input should be "):
            msg = say("settings.should", rule=msg.removeprefix("Input should be "))
        value = item.get("input")
        got = repr(value) if not isinstance(value, dict | list) and item["type"] != "missing" else None
        lines.append(say("settings.line", source=source, where=where, message=msg, got=got))
    return "\n".join(lines)


def load_practice(path: Path | None = None) -> PracticeSettings:
    """Read practice.toml; a missing file gives the defaults, a bad one raises SettingsError naming the field."""
    path = path or EnvSettings().practice_file
    if not path.exists():
        return PracticeSettings()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(say("settings.not_toml", path=path, error=exc)) from None
    except (OSError, UnicodeDecodeError) as exc:  # a folder, an unreadable file, not text
        raise SettingsError(say("settings.unreadable", path=path, error=type(exc).__name__)) from None
    try:
        return PracticeSettings.model_validate(raw)
    except ValidationError as exc:
        raise SettingsError(_describe(exc, str(path))) from None


def load_env() -> EnvSettings:
    try:
        return EnvSettings()
    except ValidationError as exc:
        raise SettingsError(_describe(exc, say("settings.environment"))) from None
