"""Where a message goes: each member's DMs to the platforms they are on, channel posts to each records channel."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from bot.config import PracticeSettings
from bot.delivery import outbox
from bot.prompts import Origin, Outbound, Prompt, Reply
from bot.refs import RunRef
from bot.store import Member, OutboxMessage, PlatformConversation, utcnow

CHANNEL_KEY = "channel:records"


class UnsafeChannelPost(Exception):
    """A channel post the core did not mark PHI-free: never written, never sent."""


@dataclass
class Router:
    """Turns replies and outbound messages into outbox rows, for the platforms this installation delivers through."""

    practice: PracticeSettings
    platforms: tuple[str, ...]

    # ---- members -----------------------------------------------------------------------------------------------
    def member_addresses(self, member: Member) -> list[tuple[str, str]]:
        """(platform, platform user id) for each configured platform the member is on."""
        found = []
        for platform in self.platforms:
            user_id = member.platform_id(platform)
            if user_id:
                found.append((platform, user_id))
        return found

    def channel_addresses(self, session: Session) -> list[tuple[str, str]]:
        """(platform, channel) for each configured platform's records channel."""
        found = []
        for platform in self.platforms:
            if platform == "slack" and self.practice.records_channel:
                found.append((platform, self.practice.records_channel))
            elif platform != "slack":
                stored = session.exec(
                    select(PlatformConversation).where(
                        PlatformConversation.platform == platform, PlatformConversation.key == CHANNEL_KEY
                    )
                ).first()
                if stored is not None:
                    found.append((platform, CHANNEL_KEY))
        return found

    # ---- writing ------------------------------------------------------------------------------------------------
    def to_actor(
        self,
        session: Session,
        reply: Reply,
        member: Member,
        origin: Origin,
        *,
        request_id: int | None = None,
    ) -> None:
        """What the person in the conversation sees next, as one message, plus the tick on what they answered."""
        if origin.message is not None and reply.accepted:
            row = outbox.enqueue(
                session,
                platform=origin.platform,
                destination_kind="update",
                destination=origin.user_id,
                purpose="update",
                member_id=member.id,
                request_id=request_id,
                extra={"message": origin.message},
            )
            reply.queued.append(row.id)
        prompts = list(reply.prompts)
        if not prompts:
            return
        run = run_of(prompts)
        holds = origin.hold_form and any(p.kind == "form" for p in prompts)
        row = outbox.enqueue(
            session,
            platform=origin.platform,
            destination_kind="member",
            destination=origin.user_id,
            purpose="step",
            prompts=prompts,
            member_id=member.id,
            run_id=run.run_id if run else None,
            request_id=request_id,
            due_at=(utcnow() + outbox.HOLD) if holds else None,
            held=holds,
        )
        reply.queued.append(row.id)
        if holds:
            reply.held = row.id

    def outbound(
        self,
        session: Session,
        item: Outbound,
        *,
        asker: Member | None = None,
        request_id: int | None = None,
        purpose: str | None = None,
        dedupe_key: str | None = None,
        due_at: datetime | None = None,
    ) -> list[OutboxMessage]:
        """One row per destination; none when the target is on no configured platform (the caller says so)."""
        member: Member | None = None
        if item.target_kind == "channel":
            if not item.phi_free:
                raise UnsafeChannelPost(f"refused a channel post to {item.target} not marked PHI-free")
            destinations = self.channel_addresses(session)
        else:
            member = session.exec(select(Member).where(Member.name == item.target, Member.active == True)).first()  # noqa: E712
            destinations = self.member_addresses(member) if member is not None else []
        run = run_of(item.prompts)
        return [
            outbox.enqueue(
                session,
                platform=platform,
                destination_kind=item.target_kind,
                destination=destination,
                purpose=purpose or ("channel" if item.target_kind == "channel" else "notice"),
                prompts=item.prompts,
                member_id=member.id if member else None,
                run_id=run.run_id if run else None,
                request_id=request_id,
                extra={"notify": asker.id} if asker is not None and asker.id else {},
                dedupe_key=f"{dedupe_key}:{platform}" if dedupe_key else None,
                due_at=due_at,
            )
            for platform, destination in destinations
        ]

    def problem(self, session: Session, member_ids: Sequence[int], prompt: Prompt, key: str) -> None:
        """Tell these members (the asker, the admins) that a message could not be delivered."""
        for member_id in dict.fromkeys(member_ids):
            member = session.get(Member, member_id)
            if member is not None and member.active:
                notice = Outbound(target_kind="member", target=member.name, prompts=(prompt,))
                self.outbound(session, notice, purpose="problem", dedupe_key=f"problem:{key}:{member.id}"[:180])


def run_of(prompts: Sequence[Prompt]) -> RunRef | None:
    """The run a message's questions belong to (its outbox row is filed under it)."""
    return next((ref for ref in (RunRef.parse(p.ref) for p in prompts) if ref), None)
