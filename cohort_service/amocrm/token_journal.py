"""A refreshed OAuth pair on local disk between amoCRM's answer and the database commit.

amoCRM's refresh tokens are single-use: once the token endpoint has answered, the old refresh
token is dead, and the new pair exists only in this process until the database commit. If the
process dies there, or the database connection (idle while the token request was in flight)
breaks at the commit, the account would be locked out until someone re-authorizes. So the answer
is first written to a small file under ``service.data_dir`` (mode 0600, written whole and renamed
into place), then committed, then the file is removed. It is not fsynced: a dead process's writes
stay in the kernel, and an fsync inside the refresh (under the row lock, with other requests
waiting) would cost more than the power cut it would cover. The next process that loads the pair
finds a leftover file and finishes the save — only if the database still holds the pair that file
replaced, so a stale file never overwrites a later refresh or a new authorization.

What is left: the time between the answer's last byte and the rename, with no network in between
(well under a millisecond), and a power cut before the kernel writes the file out. No client can
close that window; amoCRM issues the new token.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
from datetime import datetime
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def fingerprint(refresh_token: str) -> str:
    """Which pair a journal entry replaces, without storing the dead token itself."""
    return hashlib.sha256(refresh_token.encode()).hexdigest()


class TokenJournal:
    """At most one pending pair per account URL, in ``directory``."""

    def __init__(self, directory: Path, account_url: str) -> None:
        digest = hashlib.sha256(account_url.rstrip("/").lower().encode()).hexdigest()[:16]
        self.path = directory / f"oauth-pending-{digest}.json"

    def write(self, *, replaces: str, access_token: str, refresh_token: str, expires_at: datetime) -> None:
        """Durably record the new pair before anything else happens to it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        body = json.dumps(
            {
                "replaces": fingerprint(replaces),
                "access_token": access_token,
                "refresh_token": refresh_token,
                "expires_at": expires_at.isoformat(),
            }
        ).encode()
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
        try:
            os.write(fd, body)
        finally:
            os.close(fd)
        tmp.replace(self.path)

    def read(self) -> dict[str, Any] | None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            log.warning("unreadable OAuth journal %s ignored", self.path.name)
            return None
        return data if isinstance(data, dict) else None

    def clear(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
