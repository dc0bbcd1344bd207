"""Bot Framework channel tokens for tests: signed with a local RSA key that the SDK is told to trust (no network).

The SDK fetches the channel's signing keys from login.botframework.com and caches them; `trust_local_keys()` puts a
local key in that cache, so inbound tokens are validated in full (signature, issuer, audience, serviceUrl, expiry).
Outbound calls get a fixed access token instead of asking Microsoft Entra for one.
"""

from __future__ import annotations

import json
import time
from datetime import datetime

import jwt
import pytest
from botframework.connector.auth import AuthenticationConstants, MicrosoftAppCredentials
from botframework.connector.auth.jwt_token_extractor import JwtTokenExtractor, _OpenIdMetadata
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

KEY_ID = "local-test-key"
_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def trust_local_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    metadata = _OpenIdMetadata(AuthenticationConstants.TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL)
    jwk = json.loads(RSAAlgorithm.to_jwk(_KEY.public_key()))
    metadata.keys = [jwk | {"kid": KEY_ID, "endorsements": ["msteams"]}]
    metadata.last_updated = datetime.now()
    cache = dict(JwtTokenExtractor.metadataCache)
    cache[metadata.url] = metadata
    monkeypatch.setattr(JwtTokenExtractor, "metadataCache", cache)
    monkeypatch.setattr(MicrosoftAppCredentials, "get_access_token", lambda self, force_refresh=False: "outbound")


def channel_token(app_id: str, service_url: str, *, issuer: str | None = None, lifetime: int = 300) -> str:
    """What the Bot Connector puts in Authorization when it calls the bot."""
    now = int(time.time())
    claims = {
        "iss": issuer or AuthenticationConstants.TO_BOT_FROM_CHANNEL_TOKEN_ISSUER,
        "aud": app_id,
        "serviceurl": service_url,
        "nbf": now - 10,
        "iat": now - 10,
        "exp": now + lifetime,
    }
    return jwt.encode(claims, _KEY, algorithm="RS256", headers={"kid": KEY_ID})
