"""OAuth token pairs in Postgres (``oauth_tokens``, one row per account URL).

amoCRM refresh tokens are single-use: the moment a refresh succeeds the old pair is dead, so the
new pair is journaled to local disk and committed before anything uses it (a crash right after
the refresh must not lose it; see token_journal). Refreshes are serialized across processes with
``SELECT … FOR UPDATE`` on the row, held while the refresh request is in flight.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Connection, Engine, select
from sqlalchemy.dialects.postgresql import insert

from cohort_service.amocrm.token_journal import TokenJournal, fingerprint
from cohort_service.db.models import oauth_tokens
from cohort_service.errors import AmoAuthError

log = logging.getLogger(__name__)

REAUTHORIZE_HINT = (
    "re-authorize: open the integration in amoCRM, get a new authorization code and run "
    "`cohort-service auth --code CODE` within 20 minutes"
)


@dataclass(frozen=True)
class TokenPair:
    """An access/refresh pair; ``repr`` never shows the tokens."""

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_at: datetime


def _row_pair(row: object) -> TokenPair:
    return TokenPair(row.access_token, row.refresh_token, row.expires_at)  # type: ignore[attr-defined]


class LockedTokens:
    """The stored pair while this process holds the row lock; ``replace`` commits and releases."""

    def __init__(
        self, conn: Connection, account_url: str, current: TokenPair, journal: TokenJournal | None = None
    ) -> None:
        self._conn = conn
        self._account_url = account_url
        self._journal = journal
        self.current = current
        self.replaced = False

    def replace(self, pair: TokenPair) -> None:
        """Journal (the old refresh token is already dead at amoCRM), commit, drop the journal."""
        if self._journal is not None:
            self._journal.write(
                replaces=self.current.refresh_token,
                access_token=pair.access_token,
                refresh_token=pair.refresh_token,
                expires_at=pair.expires_at,
            )
        self._conn.execute(
            oauth_tokens.update()
            .where(oauth_tokens.c.account_url == self._account_url)
            .values(
                access_token=pair.access_token,
                refresh_token=pair.refresh_token,
                expires_at=pair.expires_at,
                updated_at=datetime.now(UTC),
            )
        )
        self._conn.commit()
        if self._journal is not None:
            self._journal.clear()
        self.current = pair
        self.replaced = True


class TokenStore:
    """Load, save and lock-for-refresh the token pair of one amoCRM account."""

    def __init__(self, engine: Engine, account_url: str, *, journal_dir: Path | None = None) -> None:
        self._engine = engine
        self.account_url = account_url.rstrip("/")
        self._journal = TokenJournal(journal_dir, self.account_url) if journal_dir is not None else None

    def _missing(self) -> AmoAuthError:
        return AmoAuthError(f"no OAuth tokens are stored for {self.account_url}; {REAUTHORIZE_HINT}")

    def recover(self) -> bool:
        """Finish a save a crash interrupted (see token_journal); True when it did."""
        entry = self._journal.read() if self._journal is not None else None
        if entry is None or self._journal is None:
            return False
        with self._engine.begin() as conn:
            row = conn.execute(
                select(oauth_tokens).where(oauth_tokens.c.account_url == self.account_url).with_for_update()
            ).first()
            pending = row is not None and fingerprint(row.refresh_token) == entry.get("replaces")
            if pending:
                conn.execute(
                    oauth_tokens.update()
                    .where(oauth_tokens.c.account_url == self.account_url)
                    .values(
                        access_token=str(entry["access_token"]),
                        refresh_token=str(entry["refresh_token"]),
                        expires_at=datetime.fromisoformat(str(entry["expires_at"])),
                        updated_at=datetime.now(UTC),
                    )
                )
        self._journal.clear()
        if pending:
            log.warning("an OAuth refresh interrupted before its save was completed from the journal")
        return pending

    def load(self) -> TokenPair:
        self.recover()
        with self._engine.connect() as conn:
            row = conn.execute(
                select(oauth_tokens).where(oauth_tokens.c.account_url == self.account_url)
            ).first()
        if row is None:
            raise self._missing()
        return _row_pair(row)

    def save(self, pair: TokenPair) -> None:
        """Insert or overwrite the pair, committed before returning."""
        now = datetime.now(UTC)
        stmt = insert(oauth_tokens).values(
            account_url=self.account_url,
            access_token=pair.access_token,
            refresh_token=pair.refresh_token,
            expires_at=pair.expires_at,
            updated_at=now,
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=[oauth_tokens.c.account_url],
            set_={
                "access_token": stmt.excluded.access_token,
                "refresh_token": stmt.excluded.refresh_token,
                "expires_at": stmt.excluded.expires_at,
                "updated_at": now,
            },
        )
        with self._engine.begin() as conn:
            conn.execute(stmt)

    @contextmanager
    def locked_refresh(self) -> Iterator[LockedTokens]:
        """Hold the row lock for the block; other processes' refreshes wait here."""
        self.recover()
        with self._engine.connect() as conn:
            try:
                row = conn.execute(
                    select(oauth_tokens)
                    .where(oauth_tokens.c.account_url == self.account_url)
                    .with_for_update()
                ).first()
                if row is None:
                    raise self._missing()
                yield LockedTokens(conn, self.account_url, _row_pair(row), self._journal)
            finally:
                conn.rollback()  # releases the lock when nothing was replaced (a no-op after commit)
