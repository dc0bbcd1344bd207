"""Mixed into Conversation: a request's case file sent to whoever asks from chat (its owner, a supervisor, an admin)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from sqlmodel import Session

from bot.config import SettingsError, load_env
from bot.delivery import outbox
from bot.prompts import Answer, Choice, Origin, Prompt, Reply
from bot.refs import REFERENCE, case_file_ref, parse_case_file
from bot.services import audit, requests
from bot.services.export import case_file_markdown
from bot.services.secrets import ContactUnreadable, load_fernet
from bot.store import Member, RecordsRequest, session_scope
from bot.text import say

if TYPE_CHECKING:
    from cryptography.fernet import Fernet

    from bot.services.conversation import Conversation

log = logging.getLogger("records_bot.case_file")

PURPOSE = "case_file"


def button(reference: str, text: str) -> Prompt:
    """A message that ends with the Case file button (the final message of a request, a Home row)."""
    return Prompt(
        kind="choice", text=text, ref=case_file_ref(reference), choices=(Choice(reference, say("case_file.button")),)
    )


def picker(rows: list[RecordsRequest]) -> Prompt | None:
    """One pick list of requests whose case file can be sent (the practice's, on a supervisor's Home tab)."""
    if not rows:
        return None
    choices = tuple(Choice(r.reference, say("case_file.pick_label", request=r)) for r in rows)
    return Prompt(kind="choice", text=say("case_file.pick"), ref=case_file_ref(), choices=choices)


def is_button(prompt: Prompt) -> bool:
    return parse_case_file(prompt.ref) is not None and prompt.kind != "file"


class CaseFiles:
    """The Case file button: permission, the audit event and the outbox row that carries the file to the DM."""

    def send_case_file(
        self: Conversation, actor: str | Origin, reference: str, *, inbound_key: str | None = None
    ) -> Reply:
        """Queue the request's case file for the asker's DM on the platform they asked from, audited, in one
        transaction. The file itself is made when it is sent (file_content): the outbox never holds client
        contact details in clear."""
        with session_scope(self.engine) as session:
            member = self._member(session, actor)
            if member is None:
                return self._not_a_member(actor)
            found = REFERENCE.fullmatch(reference.strip())
            request = requests.find(session, found[1]) if found else None
            if request is None:
                missing = say("no_such_request", reference=found[1].upper()) if found else say("unknown_ref")
                return Reply(prompts=[self._notice(missing)])
            if not self._may_see(member, request):
                return Reply(prompts=[self._notice(say("case_file.not_yours", request=request))])
            if not isinstance(actor, Origin):  # the terminal runs on the server: the export command writes it there
                return Reply(prompts=[self._notice(say("case_file.use_export", request=request))])
            if inbound_key and not self._claim_key(session, inbound_key):
                return Reply(prompts=[self._notice(say("case_file.already_sent", request=request))], duplicate=True)
            return self._queue_case_file(session, request, member, actor)

    def _queue_case_file(
        self: Conversation, session: Session, request: RecordsRequest, member: Member, actor: Origin
    ) -> Reply:
        with_contact = self.practice.phi_in_chat
        audit.record(
            session,
            request_id=request.id,
            actor=member.name,
            action="case_file.sent",
            after={"reference": request.reference, "sent_through": actor.platform, "with_contact": with_contact},
        )
        document = Prompt(
            kind="file",
            text=say("case_file.comment", request=request, with_contact=with_contact),
            header=say("case_file.title", request=request),
            ref=case_file_ref(request.reference),
            filename=f"{request.reference}.md",
        )
        row = outbox.enqueue(
            session,
            platform=actor.platform,
            destination_kind="member",
            destination=actor.user_id,
            purpose=PURPOSE,
            prompts=[document],
            member_id=member.id,
            request_id=request.id,
        )
        return Reply(prompts=[document], queued=[row.id])

    def file_content(self: Conversation, ref: str) -> str:
        """What a file prompt carries, made now: the case file as Markdown, with the client's contact details only
        when the practice keeps client details in chat (and the key opens them)."""
        reference = parse_case_file(ref)
        if not reference:
            raise LookupError(f"no file for {ref!r}")
        with session_scope(self.engine) as session:
            fernet = self._chat_fernet()
            try:
                return case_file_markdown(session, reference, fernet=fernet, tz=self.practice.tz)
            except ContactUnreadable:
                log.warning("the contact details of %s can't be opened with this key; the label only", reference)
                return case_file_markdown(session, reference, fernet=None, tz=self.practice.tz)

    def _chat_fernet(self: Conversation) -> Fernet | None:
        if not self.practice.phi_in_chat:
            return None
        try:
            return load_fernet(self.env or load_env())
        except SettingsError as exc:
            log.warning("no key to open client contact details (%s); the case file carries the label only", exc)
            return None

    def answer_case_file(self: Conversation, answer: Answer, inbound_key: str | None) -> Reply:
        """A Case file button (its ref names the request) or a pick from the list (the answer names it)."""
        named = parse_case_file(answer.ref) or ""
        value = answer.value if isinstance(answer.value, str) else ""
        return self.send_case_file(answer.actor, named or value, inbound_key=inbound_key)
