"""Exception hierarchy. The class says what the caller should do with the error.

* CohortServiceError            base; ``str(e)`` is one line a person can act on
  x ConfigError                 bad config or usage: shown to the user, exit 2
  x DatabaseError               the store is unreachable, unwritable or held elsewhere: exit 1
  x LockBusyError               another run holds the database lock: exit 1
  x AmoAPIError
    + RetriableAmoError         429, 5xx, timeouts, dropped connections: retried with backoff
    + FatalAmoError             401 after refresh, 403, other 4xx: the sync stops, nothing half-committed
      + AmoBlockedError         403: the IP may be blocked by amoCRM
      + AmoAuthError            401 that a refresh cannot fix
    + AmoPayloadError           a response that does not match the documented shape (or loops)
  x DeliveryError               SMTP refused or unreachable after retries
  x OutputError                 a report file cannot be written (a directory, no space, no rights): exit 1

Messages never carry tokens, secrets or response bodies: callers build them from
method, path and status only.
"""

from __future__ import annotations


def first_line(exc: BaseException) -> str:
    """What a one-line message quotes of an exception: the first line of its text (of the driver's
    own error for SQLAlchemy's wrappers, whose text adds the SQL), or its class name when empty."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0].strip() if text else type(exc).__name__


class CohortServiceError(Exception):
    """Base of everything the CLI turns into a one-line message and an exit code."""

    exit_code = 1


class ConfigError(CohortServiceError):
    """Every problem found in the configuration, reported together."""

    exit_code = 2

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


class OutputError(CohortServiceError):
    """A report file could not be written; the previous file at that path is left as it was."""


class DatabaseError(CohortServiceError):
    """The database cannot be reached, created or migrated."""


class LockBusyError(CohortServiceError):
    """Another sync/report/scheduler run holds the database lock."""


class AmoAPIError(CohortServiceError):
    """Any failure talking to amoCRM."""


class RetriableAmoError(AmoAPIError):
    """Worth another attempt after a delay (rate limit, server error, network)."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class FatalAmoError(AmoAPIError):
    """Retrying will not help; the run stops and reports."""


class AmoBlockedError(FatalAmoError):
    """403: amoCRM blocks this IP or the token lacks rights."""


class AmoAuthError(FatalAmoError):
    """401 that a token refresh could not fix (revoked, expired long-lived token)."""


class AmoPayloadError(AmoAPIError):
    """A response body that does not match the documented shape; never skipped silently."""


class DeliveryError(CohortServiceError):
    """The report could not be delivered."""
