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
from bot.store import Member, OutboxMessage, PlatformConversation

PLATFORM_ID = {"slack": "slack_user_id", "teams": "teams_user_id"}
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
            user_id = getattr(member, PLATFORM_ID.get(platform, ""), None)
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
        run = next((RunRef.parse(p.ref) for p in prompts if RunRef.parse(p.ref)), None)
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
            due_at=(_now() + outbox.HOLD) if holds else None,
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
        rows: list[OutboxMessage] = []
        extra = {"notify": asker.id} if asker is not None and asker.id else {}
        if item.target_kind == "channel":
            if not item.phi_free:
                raise UnsafeChannelPost(f"refused a channel post to {item.target} not marked PHI-free")
            for platform, channel in self.channel_addresses(session):
                rows.append(
                    outbox.enqueue(
                        session,
                        platform=platform,
                        destination_kind="channel",
                        destination=channel,
                        purpose=purpose or "channel",
                        prompts=item.prompts,
                        request_id=request_id,
                        extra=extra,
                        dedupe_key=f"{dedupe_key}:{platform}" if dedupe_key else None,
                        due_at=due_at,
                    )
                )
            return rows
        member = session.exec(select(Member).where(Member.name == item.target, Member.active == True)).first()  # noqa: E712
        if member is None:
            return rows
        for platform, user_id in self.member_addresses(member):
            run = next((RunRef.parse(p.ref) for p in item.prompts if RunRef.parse(p.ref)), None)
            rows.append(
                outbox.enqueue(
                    session,
                    platform=platform,
                    destination_kind="member",
                    destination=user_id,
                    purpose=purpose or "notice",
                    prompts=item.prompts,
                    member_id=member.id,
                    run_id=run.run_id if run else None,
                    request_id=request_id,
                    extra=extra,
                    dedupe_key=f"{dedupe_key}:{platform}" if dedupe_key else None,
                    due_at=due_at,
                )
            )
        return rows

    def problem(self, session: Session, member_ids: Sequence[int], prompt: Prompt, key: str) -> None:
        """Tell these members (the asker, the admins) that a message could not be delivered."""
        for member_id in dict.fromkeys(member_ids):
            member = session.get(Member, member_id)
            if member is None or not member.active:
                continue
            for platform, user_id in self.member_addresses(member):
                outbox.enqueue(
                    session,
                    platform=platform,
                    destination_kind="member",
                    destination=user_id,
                    purpose="problem",
                    prompts=(prompt,),
                    member_id=member.id,
                    dedupe_key=f"problem:{key}:{member.id}:{platform}"[:200],
                )


def _now() -> datetime:
    from bot.store import utcnow

    return utcnow()
