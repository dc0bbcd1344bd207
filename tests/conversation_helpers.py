"""A tiny chat partner for transcript tests: says things to the Conversation and keeps what it was shown."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from bot.config import PracticeSettings
from bot.db import open_database
from bot.prompts import Answer, Prompt, Reply
from bot.services.conversation import Conversation

PRACTICE = {
    "name": "Riverbend Counseling",
    "phone": "555-0100",
    "jurisdiction": "US",
    "timezone": "America/New_York",
    "records_channel": "#records",
    "consult_colleagues": ["Sam"],
    "members": [
        {"name": "Alex", "role": "clinician"},
        {"name": "Sam", "role": "clinician"},
        {"name": "Dana", "role": "supervisor"},
        {"name": "Pat", "role": "admin", "licensed": False},
    ],
    "privacy_contact": {"name_or_title": "Privacy Officer", "phone": "555-0101"},
    "insurance": {"name": "Acme Risk Line", "phone": "800-555-0199", "policy_number": "PL-1"},
}


def make_practice(**overrides: Any) -> PracticeSettings:
    return PracticeSettings.model_validate({**PRACTICE, **overrides})


def open_conversation(tmp_path: Path, today: date, *, db_url: str | None = None, **overrides: Any) -> Conversation:
    from bot.context import sync_members

    practice = make_practice(**overrides)
    engine = open_database(db_url or f"sqlite:///{tmp_path / 'records.db'}", auto_upgrade=True)
    sync_members(engine, practice)
    return Conversation(engine, practice, today=lambda: today)


class Person:
    """One practice member in the conversation; `.shown` is the latest reply, `.question` what it asks."""

    def __init__(self, conversation: Conversation, name: str):
        self.conversation = conversation
        self.name = name
        self.reply = Reply()

    def types(self, text: str) -> Reply:
        self.reply = self.conversation.command(self.name, text)
        return self.reply

    def answers(self, value: Any, *, key: str | None = None, ref: str | None = None) -> Reply:
        self.reply = self.conversation.answer(
            Answer(ref=ref or self.question.ref, value=value, actor=self.name), inbound_key=key
        )
        return self.reply

    @property
    def question(self) -> Prompt:
        asking = [p for p in self.reply.prompts if p.expects_answer]
        assert asking, f"nothing is being asked; shown: {self.texts}"
        return asking[-1]

    @property
    def step(self) -> str:
        return self.question.ref.split(":")[2]

    @property
    def texts(self) -> str:
        parts = []
        for p in self.reply.prompts:
            parts += [p.header or "", p.error or "", p.text, p.body or "", " ".join(c.label for c in p.choices)]
        return "\n".join(parts)

    def sees(self, *fragments: str) -> bool:
        missing = [f for f in fragments if f not in self.texts]
        assert not missing, f"missing {missing} in:\n{self.texts}"
        return True


INTAKE = {
    "client_label": "AB-17",
    "requester_type": "client",
    "access_type": "copy",
    "therapy_format": "individual",
    "received_on": "2026-11-02",
    "scope": "",
    "form": "electronic",
    "delivery": "portal",
    "third_party": "no",
    "pages": "40",
    "language": "en",
}
