"""The practice's own details (name, phone, state, time zone, privacy contact): asking, checking, saving to practice.toml."""

from __future__ import annotations

import json
import os
import re
import tempfile
import tomllib
from pathlib import Path
from typing import Any

from bot.config import JURISDICTIONS, PracticeSettings, SettingsError, load_practice, valid_timezone
from bot.engine import Invalid
from bot.text import say

# what the letters need from the practice, in the order a person would tell it
DETAILS = ("name", "phone", "jurisdiction", "timezone", "privacy_name", "privacy_phone")
PLACEHOLDER_NAME = PracticeSettings.model_fields["name"].default
# the zone names people say, to the IANA zones the settings file keeps
US_ZONES = {
    "eastern": "America/New_York",
    "central": "America/Chicago",
    "mountain": "America/Denver",
    "arizona": "America/Phoenix",
    "pacific": "America/Los_Angeles",
    "alaska": "America/Anchorage",
    "hawaii": "Pacific/Honolulu",
}
PHONE = re.compile(r"^[0-9+()./ x-]{7,30}$", re.I)


def missing(practice: PracticeSettings) -> tuple[str, ...]:
    """The details to ask before letters can be drafted: none once the privacy contact is known.

    Denial letters need the privacy contact and every letter needs a number to call, so a practice without a privacy
    contact is asked for it (and, when it has no file of its own yet, for its name, state and time zone too).
    """
    if practice.privacy_contact is not None:
        return ()
    given = practice.model_fields_set
    wanted = [d for d in ("name", "phone", "jurisdiction", "timezone") if d not in given]
    if practice.phone is None and "phone" not in wanted:
        wanted.insert(1, "phone")
    return (*[d for d in DETAILS[:4] if d in wanted], "privacy_name", "privacy_phone")


def default(detail: str, practice: PracticeSettings, values: dict[str, Any]) -> str | None:
    """What Enter keeps: the current setting, or the practice's own phone for the privacy contact's."""
    if detail == "privacy_phone":
        return values.get("phone") or practice.phone
    if detail in ("jurisdiction", "timezone"):
        return getattr(practice, detail)
    return None


def read_detail(detail: str, raw: Any) -> str:
    """One detail as typed, checked the way practice.toml checks it; Invalid says what is accepted."""
    text = str(raw if raw is not None else "").strip()
    if detail in ("name", "privacy_name"):
        if not text or len(text) > 80:
            raise Invalid(say(f"setup.bad_{detail}"))
        return text
    if detail in ("phone", "privacy_phone"):
        if not PHONE.match(text) or sum(c.isdigit() for c in text) < 7:
            raise Invalid(say("setup.bad_phone", given=text))
        return text
    if detail == "jurisdiction":
        code = text.upper()
        if code not in JURISDICTIONS:
            raise Invalid(say("setup.bad_jurisdiction", given=text))
        return code
    if detail == "timezone":
        zone = US_ZONES.get(text.lower().removesuffix(" time"), text)
        if not valid_timezone(zone):
            raise Invalid(say("setup.bad_timezone", given=text))
        return zone
    raise KeyError(detail)


def apply(practice: PracticeSettings, values: dict[str, str]) -> PracticeSettings:
    """The practice with these details set (checked again by the settings model itself)."""
    raw = practice.model_dump(exclude_unset=True)
    raw.update(settings_values(values))
    return PracticeSettings.model_validate(raw)


def settings_values(values: dict[str, str]) -> dict[str, Any]:
    """The answers as practice.toml keys: privacy_name/privacy_phone become the [privacy_contact] table."""
    out: dict[str, Any] = {k: v for k, v in values.items() if k in DETAILS[:4] and v}
    if values.get("privacy_name"):
        out["privacy_contact"] = {"name_or_title": values["privacy_name"], "phone": values["privacy_phone"]}
    return out


def save(path: Path, values: dict[str, str]) -> PracticeSettings:
    """Write the details into practice.toml, keeping everything else in it (comments too); returns the new settings."""
    original = path.read_text(encoding="utf-8") if path.exists() else ""
    text = merged(original, settings_values(values))
    try:
        PracticeSettings.model_validate(tomllib.loads(text))
    except Exception as exc:  # never write a file that would stop start-up
        raise SettingsError(say("setup.not_saved", path=path, error=str(exc).splitlines()[0])) from None
    folder = path.parent if str(path.parent) else Path(".")
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".practice-", suffix=".toml")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(text)
    if path.exists():
        os.chmod(temporary, path.stat().st_mode & 0o777)
    else:
        os.chmod(temporary, 0o644)
    os.replace(temporary, path)
    return load_practice(path)


def adopt(practice: PracticeSettings, values: dict[str, str], path: Path | None) -> tuple[PracticeSettings, str]:
    """The practice with these details, saved to `path` if given; and what to tell the person.

    The records channel this process posts to stays as it was (the terminal has none).
    """
    if path is None:
        updated, message = apply(practice, values), say("setup.kept")
    else:
        try:
            updated, message = save(path, values), say("setup.saved", path=path)
        except OSError as exc:
            raise SettingsError(say("setup.not_saved", path=path, error=type(exc).__name__)) from None
    return updated.model_copy(update={"records_channel": practice.records_channel}), message


def merged(original: str, settings: dict[str, Any]) -> str:
    """practice.toml text with these top-level keys (and the [privacy_contact] table) set, the rest untouched."""
    lines = original.splitlines()
    first_table = next((i for i, line in enumerate(lines) if re.match(r"^\s*\[", line)), len(lines))
    top, tables = lines[:first_table], lines[first_table:]
    contact = settings.pop("privacy_contact", None)
    inline_contact = any(re.match(r"^\s*privacy_contact\s*=", line) for line in top)
    if contact and inline_contact:
        settings["privacy_contact"] = contact
        contact = None
    for key, value in settings.items():
        line = f"{key} = {_toml(value)}"
        at = next((i for i, old in enumerate(top) if re.match(rf"^\s*{key}\s*=", old)), None)
        if at is None:
            end = len(top)
            while end and not top[end - 1].strip():
                end -= 1
            top.insert(end, line)
        else:
            top[at] = line
    if contact:
        tables = _set_table(tables, "privacy_contact", contact)
    if tables and top and top[-1].strip():
        top.append("")
    return "\n".join([*top, *tables]).strip("\n") + "\n"


def _set_table(lines: list[str], name: str, values: dict[str, str]) -> list[str]:
    start = next((i for i, line in enumerate(lines) if re.match(rf"^\s*\[{name}\]\s*(#.*)?$", line)), None)
    if start is None:
        body = [f"{k} = {_toml(v)}" for k, v in values.items()]
        return [*lines, *([""] if lines else []), f"[{name}]", *body]
    end = next((i for i in range(start + 1, len(lines)) if re.match(r"^\s*\[", lines[i])), len(lines))
    section = lines[start + 1 : end]
    for key, value in values.items():
        at = next((i for i, old in enumerate(section) if re.match(rf"^\s*{key}\s*=", old)), None)
        if at is None:
            section.insert(0, f"{key} = {_toml(value)}")
        else:
            section[at] = f"{key} = {_toml(value)}"
    return [*lines[: start + 1], *section, *lines[end:]]


def _toml(value: Any) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"
    return json.dumps(str(value), ensure_ascii=False)  # a JSON string is a valid TOML basic string
