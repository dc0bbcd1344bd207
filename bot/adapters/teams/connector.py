"""Bot Framework authentication for the CloudAdapter, with connector clients reused across turns.

The stock CloudAdapter builds a new msrest ConnectorClient (configuration, retry policies, session) and a new
user-token client on every turn and every proactive send; that is most of a bare bot's CPU. Here every inbound
request is still authenticated in full by the SDK; only the clients it makes afterwards are kept, one per
(bot app id, serviceUrl, audience), and their HTTP sessions keep their connections open.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

from botbuilder.integration.aiohttp import ConfigurationBotFrameworkAuthentication
from botbuilder.schema import Activity
from botframework.connector.aio import ConnectorClient
from botframework.connector.auth import (
    AuthenticateRequestResult,
    BotFrameworkAuthentication,
    ClaimsIdentity,
    ConnectorFactory,
    UserTokenClient,
)
from botframework.connector.auth.authentication_constants import AuthenticationConstants


@dataclass(frozen=True)
class BotSettings:
    """The four settings the SDK reads (as attributes) from a configuration object."""

    APP_ID: str = ""  # noqa: N815 (the SDK's attribute names)
    APP_PASSWORD: str = ""  # noqa: N815
    APP_TYPE: str = "MultiTenant"  # noqa: N815
    APP_TENANTID: str = ""  # noqa: N815


class ReusedConnectorFactory(ConnectorFactory):
    """Hands out one ConnectorClient per (serviceUrl, audience) for a bot identity, made by the SDK's own factory."""

    def __init__(self, inner: ConnectorFactory, clients: dict[tuple[str, str, str | None], ConnectorClient], app: str):
        self.inner, self.clients, self.app = inner, clients, app

    async def create(self, service_url: str, audience: str | None = None) -> ConnectorClient:
        key = (self.app, service_url, audience)
        client = self.clients.get(key)
        if client is None:
            client = await self.inner.create(service_url, audience)
            self.clients[key] = client
        return client


class ReusingAuthentication(BotFrameworkAuthentication):
    """ConfigurationBotFrameworkAuthentication, unchanged for validation; its clients are kept between turns."""

    def __init__(self, settings: BotSettings) -> None:
        self.inner = ConfigurationBotFrameworkAuthentication(settings)
        self.clients: dict[tuple[str, str, str | None], ConnectorClient] = {}
        self.token_clients: dict[str, UserTokenClient] = {}

    @staticmethod
    def _app(claims: ClaimsIdentity | None) -> str:
        claims_map = getattr(claims, "claims", None) or {}
        return str(
            claims_map.get(AuthenticationConstants.AUDIENCE_CLAIM)
            or claims_map.get(AuthenticationConstants.APP_ID_CLAIM)
            or ""
        )

    async def authenticate_request(self, activity: Activity, auth_header: str) -> AuthenticateRequestResult:
        result = await self.inner.authenticate_request(activity, auth_header)  # raises PermissionError: 401
        if result.connector_factory is not None:
            result.connector_factory = ReusedConnectorFactory(
                result.connector_factory, self.clients, self._app(result.claims_identity)
            )
        return result

    async def authenticate_streaming_request(self, auth_header: str, channel_id_header: str) -> Any:
        return await self.inner.authenticate_streaming_request(auth_header, channel_id_header)

    def create_connector_factory(self, claims_identity: ClaimsIdentity) -> ConnectorFactory:
        inner = self.inner.create_connector_factory(claims_identity)
        return ReusedConnectorFactory(inner, self.clients, self._app(claims_identity))

    async def create_user_token_client(self, claims_identity: ClaimsIdentity) -> UserTokenClient:
        app = self._app(claims_identity)
        client = self.token_clients.get(app)
        if client is None:
            client = await self.inner.create_user_token_client(claims_identity)
            self.token_clients[app] = client
        return client

    def create_bot_framework_client(self) -> Any:
        return self.inner.create_bot_framework_client()

    def get_originating_audience(self) -> str:
        return self.inner.get_originating_audience()

    async def authenticate_channel_request(self, auth_header: str) -> ClaimsIdentity:
        return await self.inner.authenticate_channel_request(auth_header)

    async def close(self) -> None:
        for client in list(self.clients.values()):
            with contextlib.suppress(Exception):  # a client that never opened a session: nothing to close
                await client.close()
        self.clients.clear()
