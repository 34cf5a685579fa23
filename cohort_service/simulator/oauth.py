"""amoCRM's OAuth 2.0 as a client experiences it: codes, rotating single-use refresh tokens, TTLs.

A refresh token can be exchanged once; the exchange returns a new pair and the old refresh token is
dead ("Token has been revoked" on reuse). Access tokens expire after ``access_ttl_s`` on the
injected clock, and tests can expire or revoke them on demand to force a 401 in the middle of a
sync. Long-lived tokens have no refresh token and carry the issuing user's rights.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cohort_service.simulator import problems

CODE_TTL_S = 20 * 60
REFRESH_TTL_S = 90 * 86400
LONG_LIVED_TTL_S = 5 * 365 * 86400


@dataclass
class Grant:
    user_id: int
    expires_at: float
    long_lived: bool = False
    used: bool = False


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).rstrip(b"=").decode()


class OAuthStore:
    """Issued codes and tokens of one integration; thread-safe."""

    def __init__(
        self,
        *,
        account_id: int,
        admin_id: int,
        client_id: str = "sim-client-id",
        client_secret: str = "sim-client-secret",  # noqa: S107 - a simulator's fixed test secret
        redirect_uri: str = "https://example.com/amocrm/oauth",
        access_ttl_s: float = 86400,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.account_id = account_id
        self.admin_id = admin_id
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_uri = redirect_uri
        self.access_ttl_s = access_ttl_s
        self.clock = clock
        self._lock = threading.Lock()
        self._access: dict[str, Grant] = {}
        self._refresh: dict[str, Grant] = {}
        self._codes: dict[str, Grant] = {}

    def _token(self, user_id: int, ttl: float) -> str:
        claims = {
            "aud": self.client_id,
            "jti": secrets.token_hex(16),
            "iat": int(self.clock()),
            "exp": int(self.clock() + ttl),
            "sub": str(user_id),
            "account_id": self.account_id,
            "api_domain": "api-a.amocrm.ru",
            "scopes": ["crm"],
        }
        return f"{_b64({'typ': 'JWT', 'alg': 'RS256'})}.{_b64(claims)}.{secrets.token_urlsafe(48)}"

    def issue_code(self, user_id: int | None = None) -> str:
        """An authorization code, as the redirect after installing the integration would carry."""
        code = secrets.token_hex(32)
        with self._lock:
            self._codes[code] = Grant(user_id or self.admin_id, self.clock() + CODE_TTL_S)
        return code

    def issue_pair(self, user_id: int | None = None) -> dict[str, Any]:
        """A fresh token pair (the body ``/oauth2/access_token`` answers with)."""
        uid = user_id or self.admin_id
        access = self._token(uid, self.access_ttl_s)
        refresh = secrets.token_urlsafe(64)
        with self._lock:
            self._access[access] = Grant(uid, self.clock() + self.access_ttl_s)
            self._refresh[refresh] = Grant(uid, self.clock() + REFRESH_TTL_S)
        return {
            "token_type": "Bearer",
            "expires_in": int(self.access_ttl_s),
            "server_time": int(self.clock()),
            "access_token": access,
            "refresh_token": refresh,
        }

    def issue_long_lived(
        self, user_id: int | None = None, *, ttl_s: float = LONG_LIVED_TTL_S, token: str | None = None
    ) -> str:
        """A long-lived token (no refresh); ``token`` fixes its text, e.g. to keep a config valid."""
        uid = user_id or self.admin_id
        value = token or self._token(uid, ttl_s)
        with self._lock:
            self._access[value] = Grant(uid, self.clock() + ttl_s, long_lived=True)
        return value

    def authenticate(self, token: str) -> int | None:
        """The user id behind a bearer token, or None when it is unknown, expired or revoked."""
        with self._lock:
            grant = self._access.get(token)
            if grant is None or grant.used or self.clock() >= grant.expires_at:
                return None
            return grant.user_id

    def expire_access_tokens(self, *, long_lived: bool = False) -> None:
        """Make every current OAuth access token (and optionally long-lived ones) answer 401."""
        with self._lock:
            for grant in self._access.values():
                if long_lived or not grant.long_lived:
                    grant.expires_at = min(grant.expires_at, self.clock())

    def exchange_would_fail(self, refresh_token: str) -> bool:
        """True when ``refresh_token`` is used up, expired or unknown (drills check a lock-out)."""
        with self._lock:
            grant = self._refresh.get(refresh_token)
            return grant is None or grant.used or self.clock() >= grant.expires_at

    def revoke_all(self) -> None:
        """What disabling the integration does: every token and refresh token is dead."""
        with self._lock:
            for grant in [*self._access.values(), *self._refresh.values()]:
                grant.used = True

    def exchange(self, body: dict[str, Any]) -> dict[str, Any]:
        """``POST /oauth2/access_token``; raises ``ApiError`` with amoCRM's bodies on refusal."""
        if body.get("client_id") != self.client_id or body.get("client_secret") != self.client_secret:
            raise problems.invalid_client()
        grant_type = body.get("grant_type")
        if grant_type not in ("authorization_code", "refresh_token"):
            raise problems.invalid_request("Unsupported grant type")
        if body.get("redirect_uri") != self.redirect_uri:
            raise problems.invalid_request("Redirect URI mismatch")
        if grant_type == "authorization_code":
            grant = self._consume(self._codes, str(body.get("code", "")))
            if grant is None:
                raise problems.invalid_request("Authorization code has been revoked")
        else:
            grant = self._consume(self._refresh, str(body.get("refresh_token", "")))
            if grant is None:
                raise problems.token_revoked()
        return self.issue_pair(grant.user_id)

    def _consume(self, store: dict[str, Grant], key: str) -> Grant | None:
        with self._lock:
            grant = store.get(key)
            if grant is None or grant.used or self.clock() >= grant.expires_at:
                return None
            grant.used = True
            return grant
