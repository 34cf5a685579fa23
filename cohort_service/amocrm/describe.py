"""The only way requests and responses get into logs and error text: method, path, status.

Never the query string (it may carry codes or filters with personal data), never headers (the
bearer token), never bodies (tokens from the OAuth endpoint, personal data of leads).
"""

from __future__ import annotations

import httpx

from cohort_service.errors import AmoBlockedError, FatalAmoError

BLOCKED_HINT = (
    "amoCRM answered 403 Forbidden: it may have blocked this IP for exceeding the rate limit, "
    "or the token's user lacks rights for this endpoint (e.g. /api/v4/users needs an administrator). "
    "If it is a block, wait, then contact amoCRM support with this machine's public IP and the "
    "account subdomain, and lower amocrm.requests_per_second; otherwise use an administrator's token"
)

_STATUS_HINTS = {
    400: "amoCRM rejected the request as invalid",
    402: "the amoCRM account is not paid (subscription or trial ended)",
    404: "not found: check amocrm.subdomain / amocrm.base_url",
    405: "method not allowed",
    422: "amoCRM could not process the request (e.g. a page limit above 250)",
}


def describe_request(request: httpx.Request) -> str:
    """``GET /api/v4/leads``: enough to find the call, nothing that could be a secret."""
    return f"{request.method} {request.url.path}"


def describe_response(response: httpx.Response) -> str:
    return f"{describe_request(response.request)} → HTTP {response.status_code}"


def fatal_error(response: httpx.Response) -> FatalAmoError:
    """The error for a final non-success answer other than 401 (auth decides about 401)."""
    if response.status_code == 403:
        return AmoBlockedError(f"{describe_response(response)}: {BLOCKED_HINT}")
    hint = _STATUS_HINTS.get(response.status_code)
    if hint is None:
        hint = "unexpected redirect" if 300 <= response.status_code < 400 else "unexpected answer"
    return FatalAmoError(f"{describe_response(response)}: {hint}")
