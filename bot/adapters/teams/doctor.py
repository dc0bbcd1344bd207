"""records-bot doctor's Teams checks, from settings and the database alone: mode, records channel, members reached."""

from __future__ import annotations

from sqlmodel import Session, select

from bot.adapters.teams.package import GUID
from bot.config import EnvSettings, PracticeSettings
from bot.delivery.routing import CHANNEL_KEY
from bot.services.doctor import Finding, found


def check_teams(env: EnvSettings, practice: PracticeSettings) -> list[Finding]:
    """The Teams checks (none when Teams is not set up), in order; the database ones only when it can be opened."""
    if not env.microsoft_app_id:
        return []
    if not GUID.match(env.microsoft_app_id):
        return [found(False, "teams_settings", "teams_app_id_shape", app_id=env.microsoft_app_id)]
    findings = [found(True, "teams_settings", "teams_settings_ok", app_type=env.microsoft_app_type)]
    stored = _stored_keys(env)
    if stored is None:
        return findings
    has_channel = CHANNEL_KEY in stored
    findings.append(found(has_channel, "teams_channel", "teams_channel_ok" if has_channel else "teams_channel_unset"))
    for member in practice.members:
        user_id = member.teams_user_id
        if not user_id:
            if not member.slack_user_id:
                findings.append(found(False, "teams_member", "teams_member_unset", subject=member.name))
        elif not GUID.match(user_id):
            findings.append(found(False, "teams_member", "teams_member_shape", subject=member.name, user_id=user_id))
        elif f"dm:{user_id}" not in stored:
            findings.append(found(False, "teams_member", "teams_member_not_yet", subject=member.name, user_id=user_id))
        else:
            findings.append(found(True, "teams_member", "teams_member_ok", subject=member.name, user_id=user_id))
    return findings


def _stored_keys(env: EnvSettings) -> set[str] | None:
    """The Teams conversation references kept (keys only), or None when the database can't be read."""
    from bot.store import PlatformConversation, make_engine

    try:
        engine = make_engine(env.database_url)
        with Session(engine) as session:
            rows = session.exec(select(PlatformConversation.key).where(PlatformConversation.platform == "teams"))
            return set(rows.all())
    except Exception:  # no database or no schema yet: the database check reports it
        return None
