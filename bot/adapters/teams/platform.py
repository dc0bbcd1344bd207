"""Teams on the platform seam: /api/messages through the CloudAdapter, and its outbox transport."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.adapters.teams.app import TeamsAdapter
from bot.adapters.teams.connector import BotSettings
from bot.delivery.platform import AdapterPlatform
from bot.text import say

if TYPE_CHECKING:
    from bot.context import AppContext


class TeamsPlatform(AdapterPlatform):
    """records-bot serve's Teams side: authenticated with MICROSOFT_APP_ID, else local mode on 127.0.0.1 only."""

    platform = "teams"

    @property
    def local_only(self) -> bool:
        """Authentication is off: the server must listen on 127.0.0.1 alone."""
        return self.adapter.local_mode

    def add_routes(self, web_app: web.Application) -> None:
        self.adapter.add_routes(web_app)

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        await self.adapter.drain()
        await self.adapter.close()

    def describe(self) -> str:
        key = "teams.serving_local" if self.local_only else "teams.serving"
        return say(key, port=self.ctx.env.port)


def create(ctx: AppContext, conversation: Any, **options: Any) -> TeamsPlatform:
    env = ctx.env
    settings = BotSettings(
        APP_ID=env.microsoft_app_id or "",
        APP_PASSWORD=env.microsoft_app_password or "",
        APP_TYPE=env.microsoft_app_type,
        APP_TENANTID=env.microsoft_app_tenant_id or "",
    )
    teams_options = {k: v for k, v in options.items() if k in ("work_threads", "db_executor")}
    return TeamsPlatform(ctx, TeamsAdapter(conversation, ctx.practice, settings=settings, **teams_options))
