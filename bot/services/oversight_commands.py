"""Mixed into Conversation: list (the practice for supervisors and admins), find, and reassign RR-… <member>."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlmodel import Session, select

from bot.answers import read_choice
from bot.engine import Invalid
from bot.prompts import Choice, Outbound, Prompt, Reply
from bot.services import oversight
from bot.store import Member, RecordsRequest
from bot.text import say

if TYPE_CHECKING:
    from bot.services.conversation import Conversation


class OversightCommands:
    """list, find <reference or label>, reassign RR-… <member>."""

    def list_text(self: Conversation, session: Session, member: Member) -> str:
        rows = oversight.visible(session, member, self.today())
        return say("oversight.list", rows=rows, everyone=oversight.sees_everything(member), today=self.today())

    def find_reply(self: Conversation, session: Session, member: Member, text: str) -> Reply:
        if not text.strip():
            return Reply(prompts=[self._notice(say("oversight.find_what"))])
        rows = oversight.find(session, member, text, self.today())
        return Reply(prompts=[self._notice(say("oversight.found", rows=rows, given=text.strip(), today=self.today()))])

    def reassign_reply(
        self: Conversation, session: Session, member: Member, request: RecordsRequest, rest: str
    ) -> Reply:
        if member.role != "admin":
            return Reply(prompts=[self._notice(say("oversight.admins_only"))])
        if request.status not in ("open", "acknowledged", "in_review", "released", "denied", "partially_denied"):
            return Reply(prompts=[self._notice(say("already_closed", request=request))])
        members = session.exec(select(Member).where(Member.active == True).order_by(Member.name)).all()  # noqa: E712
        options = tuple(Choice(str(m.id), m.name) for m in members)
        try:
            chosen = read_choice(rest.strip(), options) if rest.strip() else None
        except Invalid as exc:
            return Reply(prompts=[self._notice(exc.reason)])
        if chosen is None:
            names = [m.name for m in members]
            return Reply(
                prompts=[self._notice(say("oversight.reassign_to_whom", reference=request.reference, names=names))]
            )
        new_owner = session.get(Member, int(chosen))
        if new_owner.id == request.owner_id:
            return Reply(prompts=[self._notice(say("oversight.already_owner", request=request, name=new_owner.name))])
        old = oversight.reassign(session, request, new_owner, actor=member, practice=self.practice)
        told = say("oversight.reassigned", request=request, old=old, new=new_owner.name)
        if new_owner.name == member.name:
            return Reply(prompts=[self._notice(told)], accepted=True)
        message = Prompt(kind="notice", text=say("oversight.now_yours", request=request, by=member.name))
        return Reply(
            prompts=[self._notice(told)],
            outbound=[Outbound(target_kind="member", target=new_owner.name, prompts=(message,))],
            accepted=True,
        )
