"""Bot Framework authentication for the CloudAdapter, with connector clients reused across turns.

The stock CloudAdapter builds a new msrest ConnectorClient (configuration, retry policies, session) and a new
user-token client on every turn and every proactive send; that is most of a bare bot's CPU. Here every inbound
request is still authenticated in full by the SDK; only the clients it makes afterwards are kept, one per
(bot app id, serviceUrl, audience), and their HTTP sessions keep their connections open.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp
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
from botframework.connector.auth._connector_factory_impl import USER_AGENT
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


class ConnectorError(Exception):
    """The Bot Connector did not take a call: its HTTP status (0: no answer) and Retry-After, when it said one."""

    def __init__(self, status: int, retry_after: float | None = None) -> None:
        super().__init__(f"HTTP {status}" if status else "no answer")
        self.status, self.retry_after = status, retry_after


class RestConnector:
    """The two Connector calls the bot makes (send an activity, update one), on one shared aiohttp session.

    The SDK's ConnectorClient serializes each activity through msrest models and sends it with blocking `requests`
    in a thread pool. Cards here are already JSON, so they go straight out; the bearer token comes from the same
    credentials the SDK would use (MSAL keeps it cached), so outbound calls are authenticated exactly as before.
    """

    def __init__(self, authentication: ReusingAuthentication, app_id: str, *, timeout: float = 10.0) -> None:
        self.authentication, self.app_id = authentication, app_id
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None
        self._claims = ClaimsIdentity(
            {AuthenticationConstants.AUDIENCE_CLAIM: app_id, AuthenticationConstants.APP_ID_CLAIM: app_id}, True
        )

    async def _headers(self, service_url: str) -> dict[str, str]:
        headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT}
        client = await self.authentication.create_connector_factory(self._claims).create(service_url, None)
        credentials = client.config.credentials
        app_id = getattr(credentials, "microsoft_app_id", None)
        if app_id and app_id != AuthenticationConstants.ANONYMOUS_SKILL_APP_ID:
            token = await asyncio.to_thread(credentials.get_access_token)  # MSAL's cache; a refresh may block
            headers["Authorization"] = f"Bearer {token}"
        return headers

    def _session_now(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout, json_serialize=json.dumps)
        return self._session

    async def _call(self, method: str, service_url: str, path: str, activity: dict[str, Any]) -> dict[str, Any]:
        url = service_url.rstrip("/") + path
        headers = await self._headers(service_url)
        try:
            async with self._session_now().request(method, url, json=activity, headers=headers) as response:
                if response.status >= 300:
                    retry = response.headers.get("Retry-After")
                    try:
                        wait = float(retry) if retry is not None else None
                    except ValueError:
                        wait = None
                    raise ConnectorError(response.status, wait)
                try:
                    return await response.json(content_type=None) or {}
                except ValueError:
                    return {}
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise ConnectorError(0) from exc

    async def send(self, reference: dict[str, Any], activity: dict[str, Any]) -> str | None:
        """Send into the conversation a reference (or an inbound activity) addresses; returns the new activity id."""
        conversation = quote(str((reference.get("conversation") or {}).get("id") or ""), safe="")
        addressed = {
            "channelId": reference.get("channelId"),
            "serviceUrl": reference.get("serviceUrl"),
            "conversation": reference.get("conversation"),
            "from": reference.get("bot") or reference.get("recipient"),
            "recipient": reference.get("user") or reference.get("from"),
            **activity,
        }
        answer = await self._call(
            "POST", reference["serviceUrl"], f"/v3/conversations/{conversation}/activities", addressed
        )
        return answer.get("id")

    async def update(self, reference: dict[str, Any], activity_id: str, activity: dict[str, Any]) -> None:
        conversation = quote(str((reference.get("conversation") or {}).get("id") or ""), safe="")
        path = f"/v3/conversations/{conversation}/activities/{quote(activity_id, safe='')}"
        addressed = {"id": activity_id, "conversation": reference.get("conversation"), **activity}
        await self._call("PUT", reference["serviceUrl"], path, addressed)

    async def open_personal_chat(self, raw: dict[str, Any]) -> dict[str, Any]:
        """The bot's 1:1 chat with whoever sent this (channel) activity, created if need be; returns its reference.

        Teams lets a bot start a personal chat with a member of a team it is installed in.
        """
        tenant = (raw.get("conversation") or {}).get("tenantId") or (
            (raw.get("channelData") or {}).get("tenant") or {}
        ).get("id")
        sender = {k: v for k, v in (raw.get("from") or {}).items() if k in ("id", "name", "aadObjectId")}
        parameters = {
            "bot": raw.get("recipient"),
            "members": [sender],
            "isGroup": False,
            "tenantId": tenant,
            "channelData": {"tenant": {"id": tenant}},
        }
        answer = await self._call("POST", raw["serviceUrl"], "/v3/conversations", parameters)
        if not answer.get("id"):
            raise ConnectorError(0)
        return {
            "user": sender,
            "bot": raw.get("recipient"),
            "conversation": {"id": answer["id"], "conversationType": "personal", "tenantId": tenant},
            "channelId": raw.get("channelId"),
            "serviceUrl": answer.get("serviceUrl") or raw["serviceUrl"],
        }

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
