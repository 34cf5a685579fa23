"""``ad_spend`` and ``spend_files`` in Postgres: read, compare, replace. The caller owns the transaction."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import pandas as pd
from sqlalchemy import Connection, func, select, tuple_
from sqlalchemy.dialects.postgresql import insert

from cohort_service.db.models import account, ad_spend, spend_files
from cohort_service.spend.parse import SpendRow

Key = tuple[date, str, str]
_BATCH = 1000


@dataclass(frozen=True)
class StoredSpend:
    day: date
    source: str
    campaign: str
    cost: Decimal
    impressions: int | None
    clicks: int | None
    currency: str | None
    file: str

    @property
    def key(self) -> Key:
        return (self.day, self.source, self.campaign)


def _stored(row: object) -> StoredSpend:
    m = row._mapping  # type: ignore[attr-defined]
    names = ("day", "source", "campaign", "cost", "impressions", "clicks", "currency", "file")
    return StoredSpend(*(m[name] for name in names))


def stored_for(conn: Connection, keys: Sequence[Key]) -> dict[Key, StoredSpend]:
    """The stored rows a file would replace."""
    found: dict[Key, StoredSpend] = {}
    cols = (ad_spend.c.day, ad_spend.c.source, ad_spend.c.campaign)
    for start in range(0, len(keys), _BATCH):
        chunk = list(keys[start : start + _BATCH])
        for row in conn.execute(select(ad_spend).where(tuple_(*cols).in_(chunk))):
            spend = _stored(row)
            found[spend.key] = spend
    return found


def currencies(conn: Connection) -> tuple[str | None, set[str]]:
    """(the amoCRM account's currency if synced, the currencies already in ``ad_spend``)."""
    account_currency = conn.execute(select(account.c.currency).limit(1)).scalar_one_or_none()
    stored = conn.execute(select(ad_spend.c.currency).where(ad_spend.c.currency.is_not(None)).distinct())
    return account_currency, {str(c) for c in stored.scalars()}


def replace_rows(conn: Connection, rows: Iterable[SpendRow], *, file: str, now: datetime) -> int:
    """Insert, or replace the stored row of the same day, source and campaign."""
    values = [
        {
            "day": r.day,
            "source": r.source,
            "campaign": r.campaign,
            "cost": r.cost,
            "impressions": r.impressions,
            "clicks": r.clicks,
            "currency": r.currency,
            "file": file,
            "imported_at": now,
        }
        for r in rows
    ]
    for start in range(0, len(values), _BATCH):
        stmt = insert(ad_spend).values(values[start : start + _BATCH])
        excluded = stmt.excluded
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["day", "source", "campaign"],
                set_={
                    name: excluded[name]
                    for name in ("cost", "impressions", "clicks", "currency", "file", "imported_at")
                },
            )
        )
    return len(values)


def record_file(conn: Connection, sha256: str, name: str, rows: int, now: datetime) -> None:
    stmt = insert(spend_files).values(sha256=sha256, name=name, rows=rows, imported_at=now)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["sha256"], set_={"name": name, "rows": rows, "imported_at": now}
        )
    )


def imported_hashes(conn: Connection) -> set[str]:
    return {str(h) for h in conn.execute(select(spend_files.c.sha256)).scalars()}


def list_spend(conn: Connection, since: date | None = None) -> list[StoredSpend]:
    query = select(ad_spend).order_by(ad_spend.c.day, ad_spend.c.source, ad_spend.c.campaign)
    if since is not None:
        query = query.where(ad_spend.c.day >= since)
    return [_stored(row) for row in conn.execute(query)]


def read_spend(conn: Connection, first_day: date, last_day: date) -> pd.DataFrame:
    """Spend per day × source (campaigns added up) for ``first_day``..``last_day`` inclusive.

    Columns ``day`` (datetime64 midnight), ``source`` (text as imported), ``cost`` (float64).
    """
    total = func.sum(ad_spend.c.cost)
    rows = conn.execute(
        select(ad_spend.c.day, ad_spend.c.source, total.label("cost"))
        .where(ad_spend.c.day >= first_day, ad_spend.c.day <= last_day)
        .group_by(ad_spend.c.day, ad_spend.c.source)
        .order_by(ad_spend.c.day, ad_spend.c.source)
    ).all()
    return pd.DataFrame(
        {
            "day": pd.to_datetime(pd.Series([r.day for r in rows], dtype=object)).astype("datetime64[us]"),
            "source": pd.Series([r.source for r in rows], dtype=object),
            "cost": pd.Series([float(r.cost) for r in rows], dtype="float64"),
        }
    )
