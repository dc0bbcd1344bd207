"""The encryption key for client contact details, and sealing/opening those details with it."""

from __future__ import annotations

import json
import os
import stat
import time
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from bot.config import EnvSettings, SettingsError, load_env
from bot.text import say

CONTACT_FIELDS = ("name", "email", "address")


class ContactUnreadable(Exception):
    """A stored contact token cannot be opened with this key (wrong key, or the token was damaged)."""


def _fernet_from(key: str | bytes, source: str) -> Fernet:
    try:
        return Fernet(key.strip())
    except (ValueError, TypeError):
        raise SettingsError(say("settings.bad_key", source=source)) from None


def _create_key_file(path: Path) -> bool:
    """Write a new key to path, never readable by others even briefly; False if it already exists."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "wb") as handle:
        handle.write(Fernet.generate_key() + b"\n")
        handle.flush()
        os.fsync(handle.fileno())
    return True


def _read_key_file(path: Path) -> bytes:
    # Windows has no group/other mode bits to check; everywhere else the file must be owner-only.
    if os.name != "nt":
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise SettingsError(say("settings.key_file_open", path=path, mode=f"{mode:04o}"))
    # Another process may have just created it and not finished writing: wait briefly for the key.
    for _ in range(50):
        key = path.read_bytes().strip()
        if key:
            return key
        time.sleep(0.02)
    raise SettingsError(say("settings.key_file_empty", path=path))


def load_fernet(env: EnvSettings) -> Fernet:
    """The Fernet for contact details: RECORDS_BOT_KEY if set, else the key file (made on first run, mode 0600)."""
    if env.records_bot_key:
        return _fernet_from(env.records_bot_key, "RECORDS_BOT_KEY")
    path = Path(env.records_bot_key_file)
    _create_key_file(path)
    return _fernet_from(_read_key_file(path), str(path))


def encrypt_contact(fernet: Fernet, contact: dict[str, str]) -> str:
    """A Fernet token of the contact's name, email and address, for RecordsRequest.client_contact."""
    unknown = sorted(set(contact) - set(CONTACT_FIELDS))
    if unknown:
        raise ValueError(say("settings.contact_fields", accepted=CONTACT_FIELDS, given=unknown))
    plain = json.dumps({k: str(v) for k, v in contact.items()}, sort_keys=True, ensure_ascii=False)
    return fernet.encrypt(plain.encode("utf-8")).decode("ascii")


def decrypt_contact(fernet: Fernet, token: str | None) -> dict[str, str]:
    """The contact sealed in token ({} when there is none); ContactUnreadable if this key cannot open it."""
    if not token:
        return {}
    try:
        plain = fernet.decrypt(token.encode("ascii"))
    except (InvalidToken, UnicodeEncodeError):
        raise ContactUnreadable(say("settings.contact_unreadable")) from None
    return {str(k): str(v) for k, v in json.loads(plain).items()}


def client_name(token: str | None) -> str:
    """The client's name sealed in token, opened with the configured key; "" when none is kept or it can't be read
    (a wrong or unreadable key: the export says so; a consult question is still checked for everything else)."""
    if not token:
        return ""
    try:
        return decrypt_contact(load_fernet(load_env()), token).get("name", "")
    except (ContactUnreadable, SettingsError):
        return ""
