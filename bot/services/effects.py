"""Carrying out a flow's effects inside the answer's transaction: save, draft, consult, audit, channel post."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import update
from sqlmodel import Session, col, select

from bot.config import EnvSettings, PracticeSettings
from bot.delivery import outbox
from bot.engine import Effect, Invalid
from bot.prompts import Outbound, Prompt
from bot.services import audit, consults, requests
from bot.store import Consult, Draft, FlowRun, Member, RecordsRequest
from bot.text import say
from flows.records_request import CONTACT_FIELDS


class EffectRefused(Invalid):
    """An effect could not be carried out (e.g. a consult the service refuses): the whole answer is undone."""


def channel_post(practice: PracticeSettings, event: str, request: RecordsRequest, owner: str) -> Outbound:
    """The records channel hears only reference, due date, status and owner: never PHI."""
    text = say(
        "channel_post",
        event=event,
        reference=request.reference,
        due=request.effective_due,
        status=request.status,
        owner=owner,
    )
    return Outbound(
        target_kind="channel",
        target=practice.records_channel,
        prompts=(Prompt(kind="notice", text=text),),
        phi_free=True,
    )


def owner_name(session: Session, request: RecordsRequest) -> str:
    owner = session.get(Member, request.owner_id) if request.owner_id else None
    return owner.name if owner else ""


@dataclass
class EffectRunner:
    """Applies one answer's effects for `member` on `run`; what to show them and others collects on the way."""

    session: Session
    practice: PracticeSettings
    run: FlowRun
    member: Member
    today: date
    encrypt_contact: Callable[[dict[str, str]], str]
    env: EnvSettings | None = None
    notices: list[Prompt] = field(default_factory=list)
    outbound: list[Outbound] = field(default_factory=list)
    queued: list[int] = field(default_factory=list)  # outbox rows written directly (emails)

    @property
    def request(self) -> RecordsRequest | None:
        return self.session.get(RecordsRequest, self.run.request_id) if self.run.request_id else None

    def apply(self, effect: Effect) -> None:
        handler = getattr(self, f"do_{effect.kind}", None)
        if handler is None:  # a flow asking for something the runner cannot do is a programming error, not user input
            raise ValueError(f"unknown effect {effect.kind!r}")
        handler(**effect.data)

    def do_create_request(self, **values: object) -> None:
        contact = {k.removeprefix("client_"): str(values.pop(k)) for k in CONTACT_FIELDS if values.get(k)}
        token = self.encrypt_contact(contact) if contact else None
        request = requests.create_request(
            self.session,
            values=values,
            owner=self.member,
            practice=self.practice,
            today=self.today,
            contact_token=token,
        )
        self.session.execute(update(FlowRun).where(col(FlowRun.id) == self.run.id).values(request_id=request.id))
        self.session.refresh(self.run)
        self.notices.append(
            Prompt(
                kind="notice",
                text=say("created", request=request, channel=self.practice.records_channel, today=self.today),
            )
        )

    def do_update_request(self, **fields: object) -> None:
        requests.update_request(self.session, self.request, dict(fields), actor=self.member.name)

    def do_save_draft(self, kind: str, body: str, sent_on: date | None = None, show: bool = False) -> None:
        request = self.request
        draft = Draft(
            request_id=request.id,
            kind=kind,
            language=request.language,
            body=body,
            created_by_id=self.member.id,
            sent_on=sent_on,
        )
        self.session.add(draft)
        self.session.flush()
        audit.record(
            self.session,
            request_id=request.id,
            actor=self.member.name,
            action="letter.sent" if sent_on else "draft.saved",
            after={"kind": kind, "sent_on": sent_on, "draft_id": draft.id},
        )
        if show:
            self.notices.append(Prompt(kind="notice", text=say("draft_saved", kind=kind), body=body))

    def do_checklist(self, done: list[str], all: list[str]) -> None:  # noqa: A002 (the effect's own key)
        requests.set_checklist(self.session, self.request, done, all, actor=self.member.name)

    def do_withdraw_call(self, kind: str) -> None:
        consult = self.waiting_call(kind)
        if consult is not None:
            consult.status = "withdrawn"
            self.session.add(consult)
            audit.record(
                self.session,
                request_id=consult.request_id,
                actor=self.member.name,
                action="consult.unreached",
                after={"kind": kind},
            )

    def do_ask_consult(self, kind: str, member: str | None, question: str, step: str) -> None:
        asked = None
        if member is not None:
            asked = self.session.exec(select(Member).where(Member.name == member, Member.active == True)).first()  # noqa: E712
        messages = self._consult(kind=kind, step=step, asked_member=asked, question=question)[1]
        for message in messages:
            if message.target == self.member.name:
                if member is not None:  # a phone consult's script is shown by the call step itself
                    self.notices.extend(message.prompts)
            else:
                self.outbound.append(message)

    def waiting_call(self, kind: str) -> Consult | None:
        """The phone consult asked just before (its question and summary), still waiting for its outcome."""
        query = select(Consult).where(
            Consult.request_id == self.run.request_id, Consult.kind == kind, Consult.status == "waiting"
        )
        return self.session.exec(query.order_by(col(Consult.id).desc())).first()

    def do_email_summary(self, kind: str) -> None:
        """Put the call summary in the outbox for the contact; it is sent after commit, never inside it."""
        consult = self.waiting_call(kind)
        if consult is None or self.env is None or not self.env.smtp_host:
            raise EffectRefused(say("records_request.email_failed", error=say("no_consult_to_email")))
        try:
            address, subject, body = consults.call_summary_email(
                self.session, consult_id=consult.id, practice=self.practice
            )
        except consults.ConsultError as exc:
            raise EffectRefused(say("records_request.email_failed", error=str(exc))) from None
        row = outbox.enqueue(
            self.session,
            platform="email",
            destination_kind="email",
            destination=address,
            purpose="email",
            request_id=consult.request_id,
            extra={"subject": subject, "body": body, "notify": self.member.id},
        )
        self.queued.append(row.id)
        audit.record(
            self.session,
            request_id=consult.request_id,
            actor=self.member.name,
            action="consult.summary_emailed",
            after={"to": address, "outbox_id": row.id},
        )
        self.notices.append(Prompt(kind="notice", text=say("records_request.summary_emailed", address=address)))

    def do_record_call(
        self, kind: str, step: str, spoken_on: date, spoken_to: str, advice: str, reference_number: str | None = None
    ) -> None:
        consult = (
            self.waiting_call(kind)
            or self._consult(kind=kind, step=step, asked_member=None, question=say("call_question"))[0]
        )
        try:
            consults.record_call_outcome(
                self.session,
                consult_id=consult.id,
                spoken_on=spoken_on,
                spoken_to=spoken_to,
                reference_number=reference_number,
                advice=advice,
                actor=self.member.name,
            )
        except consults.ConsultError as exc:
            raise EffectRefused(str(exc)) from None

    def _consult(self, **kwargs: object):  # type: ignore[no-untyped-def]
        try:
            return consults.ask(
                self.session, request=self.request, asked_by=self.member, practice=self.practice, **kwargs
            )
        except consults.ConsultError as exc:
            raise EffectRefused(str(exc)) from None

    def do_post_channel(self, event: str) -> None:
        request = self.request
        self.outbound.append(channel_post(self.practice, event, request, owner_name(self.session, request)))

    def do_audit_only(self, action: str, after: dict) -> None:
        request = self.request
        audit.record(
            self.session, request_id=request.id if request else None, actor=self.member.name, action=action, after=after
        )
