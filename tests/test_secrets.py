"""Client contact details: sealed with a key that only the practice's account can read, never stored in plain text."""

from __future__ import annotations

import os
import sqlite3
import stat
from datetime import date

import pytest
from cryptography.fernet import Fernet

from bot.config import EnvSettings, SettingsError
from bot.db import open_database
from bot.services.secrets import ContactUnreadable, decrypt_contact, encrypt_contact, load_fernet
from bot.store import RecordsRequest, session_scope

CONTACT = {"name": "Jordan Quintavalle", "email": "jq@example.org", "address": "12 Elm St, Springfield"}

posix_only = pytest.mark.skipif(os.name == "nt", reason="POSIX file modes")


def env_with(tmp_path, **values) -> EnvSettings:
    values.setdefault("records_bot_key", None)
    values.setdefault("records_bot_key_file", tmp_path / "keys" / ".records-bot.key")
    return EnvSettings(_env_file=None, **values)


@posix_only
def test_first_run_makes_a_key_file_only_the_owner_can_read(tmp_path):
    env = env_with(tmp_path)
    fernet = load_fernet(env)
    mode = stat.S_IMODE(env.records_bot_key_file.stat().st_mode)
    assert mode == 0o600
    again = load_fernet(env)  # the second run reads the same key
    assert decrypt_contact(again, encrypt_contact(fernet, CONTACT)) == CONTACT


@posix_only
def test_the_key_file_is_private_even_with_a_permissive_umask(tmp_path):
    old = os.umask(0)
    try:
        env = env_with(tmp_path)
        load_fernet(env)
    finally:
        os.umask(old)
    assert stat.S_IMODE(env.records_bot_key_file.stat().st_mode) == 0o600


@posix_only
@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_a_key_file_others_can_read_is_refused(tmp_path, mode):
    env = env_with(tmp_path)
    load_fernet(env)
    os.chmod(env.records_bot_key_file, mode)
    with pytest.raises(SettingsError, match="chmod 600"):
        load_fernet(env)


def test_a_key_from_the_environment_wins_and_no_file_is_made(tmp_path):
    key = Fernet.generate_key().decode()
    env = env_with(tmp_path, records_bot_key=key)
    fernet = load_fernet(env)
    assert not env.records_bot_key_file.exists()
    assert Fernet(key).decrypt(encrypt_contact(fernet, CONTACT).encode())


@pytest.mark.parametrize(
    "bad",
    ["not-a-key", "x" * 44, Fernet.generate_key().decode()[:-4]],
    ids=["not-a-key", "right-length-not-base64", "truncated-key"],  # fixed ids: parallel workers collect alike
)
def test_an_invalid_key_in_the_environment_is_refused_clearly(tmp_path, bad):
    with pytest.raises(SettingsError, match="RECORDS_BOT_KEY is not a valid encryption key"):
        load_fernet(env_with(tmp_path, records_bot_key=bad))


@posix_only
def test_a_damaged_key_file_is_refused_clearly(tmp_path):
    env = env_with(tmp_path)
    env.records_bot_key_file.parent.mkdir()
    fd = os.open(env.records_bot_key_file, os.O_CREAT | os.O_WRONLY, 0o600)
    os.write(fd, b"garbage\n")
    os.close(fd)
    with pytest.raises(SettingsError, match="not a valid encryption key"):
        load_fernet(env)


def test_a_contact_sealed_with_one_key_cannot_be_opened_with_another():
    token = encrypt_contact(Fernet(Fernet.generate_key()), CONTACT)
    with pytest.raises(ContactUnreadable, match="cannot be decrypted with this key"):
        decrypt_contact(Fernet(Fernet.generate_key()), token)


def test_no_contact_stored_opens_to_nothing():
    fernet = Fernet(Fernet.generate_key())
    assert decrypt_contact(fernet, None) == {}
    assert decrypt_contact(fernet, "") == {}


def test_unknown_contact_fields_are_refused():
    with pytest.raises(ValueError, match="phone"):
        encrypt_contact(Fernet(Fernet.generate_key()), {"name": "A", "phone": "555"})


def test_the_database_never_holds_the_contact_in_plain_text(tmp_path):
    fernet = Fernet(Fernet.generate_key())
    path = tmp_path / "t.db"
    engine = open_database(f"sqlite:///{path}", auto_upgrade=True)
    with session_scope(engine) as session:
        session.add(
            RecordsRequest(
                reference="RR-2026-0042",
                client_label="J.Q.",
                client_contact=encrypt_contact(fernet, CONTACT),
                received_on=date(2026, 3, 2),
                due_on=date(2026, 4, 1),
            )
        )
    engine.dispose()

    with sqlite3.connect(path) as raw:
        (stored,) = raw.execute("SELECT client_contact FROM records_requests").fetchone()
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    for value in CONTACT.values():
        assert value not in stored
    on_disk = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("t.db"))
    for value in CONTACT.values():
        assert value.encode() not in on_disk
    assert b"J.Q." in on_disk  # the check can see plain text at all
    assert decrypt_contact(fernet, stored) == CONTACT
