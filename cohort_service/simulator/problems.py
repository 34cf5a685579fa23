"""Error bodies as amoCRM sends them (shapes from the documented and observed samples).

``ApiError`` carries a finished reply up to the app, which turns it into the HTTP response; every
error an endpoint can produce is built here so the wording stays in one place.
"""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

PROBLEM = "application/problem+json"
HTML = "text/html"
OAUTH_PROBLEM_TYPE = "https://developers.amocrm.ru/v3/errors/OAuthProblemJson"


class ApiError(Exception):
    """An error reply: status, body and content type."""

    def __init__(self, status: int, body: bytes, content_type: str = PROBLEM) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.content_type = content_type


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()


def problem(status: int, title: str, detail: str) -> ApiError:
    return ApiError(
        status,
        dumps(
            {"title": title, "type": f"https://httpstatus.es/{status}", "status": status, "detail": detail}
        ),
    )


def unauthorized() -> ApiError:
    return problem(401, "Unauthorized", "Неверный логин или пароль")


def forbidden() -> ApiError:
    return problem(403, "Forbidden", "Access denied")


def not_found(url: str, method: str = "GET") -> ApiError:
    return problem(404, "Not Found", f"Cannot {method} {url}")


def method_not_allowed() -> ApiError:
    return problem(405, "Method Not Allowed", "Method Not Allowed")


def limit_exceeded(maximum: int) -> ApiError:
    return problem(422, "Unprocessable Entity", f"Limit {maximum} per page")


def validation(path: str, code: str, detail: str) -> ApiError:
    """400 with the documented ``validation-errors`` list (one error)."""
    body = {
        "validation-errors": [
            {"request_id": "0", "errors": [{"code": code, "path": path, "detail": detail}]}
        ],
        "title": "Bad Request",
        "type": "https://httpstatus.es/400",
        "status": 400,
        "detail": "Request validation failed",
    }
    return ApiError(400, dumps(body))


def too_many_requests_json(retry_after: int) -> ApiError:
    body = {
        "title": "Too Many Requests",
        "type": "https://httpstatus.es/429",
        "status": 429,
        "detail": "You have sent too many requests in a given amount of time. Please try again later.",
        "retry_after": retry_after,
    }
    return ApiError(429, dumps(body))


def _nginx_page(status: int, reason: str) -> bytes:
    title = f"{status} {reason}"
    return (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n"
        "<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    ).encode()


def too_many_requests_html() -> ApiError:
    return ApiError(429, _nginx_page(429, "Too Many Requests"), HTML)


def blocked_html() -> ApiError:
    return ApiError(403, _nginx_page(403, "Forbidden"), HTML)


_SERVER_ERRORS = {
    500: {
        "title": "ErrInternalServer",
        "status": 500,
        "detail": "Our team are probably already working on the elimination of the problem",
    },
    502: {
        "title": "Bad Gateway",
        "type": "https://httpstatus.es/502",
        "status": 502,
        "detail": "Bad Gateway",
    },
    503: {
        "title": "Service Unavailable",
        "type": "https://httpstatus.es/503",
        "status": 503,
        "detail": "Service temporarily unavailable",
    },
    504: {
        "title": "Gateway Timeout",
        "type": "https://httpstatus.es/504",
        "status": 504,
        "detail": "Gateway Timeout",
    },
}


def server_error(status: int, trace_id: str) -> ApiError:
    body = dict(_SERVER_ERRORS.get(status, {"title": "Error", "status": status, "detail": "Error"}))
    if status == 500:
        body["trace_id"] = trace_id
    return ApiError(status, dumps(body))


def oauth_error(status: int, title: str, detail: str, hint: str | None = None) -> ApiError:
    body: dict[str, Any] = {"hint": hint} if hint else {}
    body.update({"title": title, "type": OAUTH_PROBLEM_TYPE, "status": status, "detail": detail})
    return ApiError(status, dumps(body))


def token_revoked() -> ApiError:
    return oauth_error(
        401,
        "Некорректный запрос",
        "В запросе отсутствует ряд параметров или параметры невалидны",
        "Token has been revoked",
    )


def invalid_client() -> ApiError:
    return oauth_error(401, "Некорректный клиент", "Авторизация клиента не прошла")


def invalid_request(hint: str) -> ApiError:
    return oauth_error(
        400, "Некорректный запрос", "В запросе отсутствует ряд параметров или параметры невалидны", hint
    )


def for_status(status: int, trace_id: str) -> ApiError:
    """A plausible body for a scripted status code."""
    if status >= 500:
        return server_error(status, trace_id)
    if status == 401:
        return unauthorized()
    if status == 402:
        return problem(402, "Payment Required", "Payment required")
    if status == 403:
        return blocked_html()
    if status == 429:
        return too_many_requests_json(1)
    phrase = HTTPStatus(status).phrase
    return problem(status, phrase, phrase)
