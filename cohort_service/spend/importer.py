"""Import spend files: each file whole or not at all, in its own transaction.

``spend import`` (the CLI) and the folder import before ``send``/``serve``'s report share this. A
file's problems — its own cells, or a currency other than the account's — are all collected first;
only a file with none is written, so a bad export never leaves part of itself in ``ad_spend``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Connection, Engine

from cohort_service.errors import CohortServiceError
from cohort_service.spend import store
from cohort_service.spend.parse import CURRENCY, SPEND_SUFFIXES, SpendFile, SpendRow, read_spend_file

log = logging.getLogger(__name__)
DETAIL_LINES = 30


class SpendFileError(CohortServiceError):
    """A spend file with problems: one line per problem, nothing of it imported; exit 2 (bad input)."""

    exit_code = 2

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


@dataclass(frozen=True)
class FileResult:
    """What importing one file did (or, with ``dry_run``, would do)."""

    name: str
    problems: tuple[str, ...] = ()
    added: int = 0
    replaced: int = 0
    unchanged: int = 0
    merged: int = 0
    cost: Decimal = Decimal(0)
    first_day: date | None = None
    last_day: date | None = None
    changes: tuple[str, ...] = ()  # "2026-12-01 yandex: 1200 → 1250", replaced rows only
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems

    def lines(self) -> list[str]:
        if not self.ok:
            return list(self.problems)
        verb = "would import" if self.dry_run else "imported"
        span = f" for {self.first_day:%Y-%m-%d}..{self.last_day:%Y-%m-%d}" if self.first_day else ""
        rows = self.added + self.replaced + self.unchanged
        head = (
            f"{self.name}: {verb} {rows} rows{span}, cost {self.cost:,.2f}"
            f" ({self.added} new, {self.replaced} replaced, {self.unchanged} unchanged)"
        )
        out = [head]
        if self.merged:
            out.append(
                f"{self.name}: {self.merged} rows repeat the date, source and campaign of an earlier row"
                " and were added to it"
            )
        shown = self.changes[:DETAIL_LINES]
        out += [f"  {change}" for change in shown]
        if len(self.changes) > len(shown):
            out.append(f"  … and {len(self.changes) - len(shown)} more replaced rows")
        return out


def _money(value: Decimal) -> str:
    return f"{value:,.2f}"


def _currency_problems(conn: Connection, spend: SpendFile) -> list[str]:
    """One currency per account: the account's (amoCRM), else the one already imported."""
    account_currency, stored = store.currencies(conn)
    expected = account_currency or (next(iter(stored)) if len(stored) == 1 else None)
    if expected is None:
        return []
    why = "the amoCRM account's currency" if account_currency else "the currency of spend already imported"
    return [
        f"{spend.name}:{row.line}: {CURRENCY}: {row.currency} differs from {expected}, {why}"
        for row in spend.rows
        if row.currency and row.currency != expected
    ]


def _same(row: SpendRow, old: store.StoredSpend) -> bool:
    return (row.cost, row.impressions, row.clicks, row.currency) == (
        old.cost,
        old.impressions,
        old.clicks,
        old.currency,
    )


def import_spend(conn: Connection, spend: SpendFile, *, dry_run: bool, now: datetime) -> FileResult:
    """Compare with what is stored and (unless ``dry_run``) replace; in the caller's transaction."""
    if not spend.ok:
        return FileResult(spend.name, problems=spend.problems, dry_run=dry_run)
    problems = _currency_problems(conn, spend)
    if problems:
        return FileResult(spend.name, problems=tuple(problems), dry_run=dry_run)
    stored = store.stored_for(conn, [r.key for r in spend.rows])
    added = replaced = unchanged = 0
    changes: list[str] = []
    for row in spend.rows:
        old = stored.get(row.key)
        if old is None:
            added += 1
        elif _same(row, old):
            unchanged += 1
        else:
            replaced += 1
            where = f"{row.day:%Y-%m-%d} {row.source}" + (f" / {row.campaign}" if row.campaign else "")
            changes.append(f"{where}: cost {_money(old.cost)} → {_money(row.cost)} (from {old.file})")
    if not dry_run:
        store.replace_rows(conn, spend.rows, file=spend.name, now=now)
        store.record_file(conn, spend.sha256, spend.name, len(spend.rows), now)
    days = [r.day for r in spend.rows]
    return FileResult(
        spend.name,
        added=added,
        replaced=replaced,
        unchanged=unchanged,
        merged=spend.merged,
        cost=sum((r.cost for r in spend.rows), Decimal(0)),
        first_day=min(days, default=None),
        last_day=max(days, default=None),
        changes=tuple(changes),
        dry_run=dry_run,
    )


def import_files(
    engine: Engine, files: Sequence[SpendFile], *, dry_run: bool = False, now: datetime | None = None
) -> list[FileResult]:
    """Each file in its own transaction; a file with problems writes nothing (the others still do)."""
    moment = now or datetime.now(UTC)
    results: list[FileResult] = []
    for spend in files:
        with engine.connect() as conn, conn.begin() as tx:
            result = import_spend(conn, spend, dry_run=dry_run, now=moment)
            if not result.ok or dry_run:
                tx.rollback()
        results.append(result)
    return results


def import_paths(
    engine: Engine, paths: Sequence[Path], *, dry_run: bool = False, now: datetime | None = None
) -> list[FileResult]:
    return import_files(engine, [read_spend_file(p) for p in paths], dry_run=dry_run, now=now)


@dataclass(frozen=True)
class FolderImport:
    """The folder import before a report: files imported now, files with problems (not imported)."""

    imported: tuple[FileResult, ...] = ()
    rejected: tuple[FileResult, ...] = ()
    already: int = 0  # files whose content was imported before
    notes: tuple[str, ...] = field(default_factory=tuple)

    def lines(self) -> list[str]:
        out = [line for r in self.imported for line in r.lines()[:1]]
        for r in self.rejected:
            out.append(
                f"spend file {r.name} NOT imported ({len(r.problems)} problems); fix it and drop it again:"
            )
            out += [f"  {p}" for p in r.problems]
        return out + list(self.notes)

    def warnings(self, limit: int = 10) -> list[str]:
        """For the e-mail: each refused file with its first problems (the log has them all)."""
        out = []
        for r in self.rejected:
            shown = "; ".join(r.problems[:limit]) + (" …" if len(r.problems) > limit else "")
            out.append(
                f"Spend file {r.name} was NOT imported ({len(r.problems)} problems),"
                f" fix and drop it again: {shown}"
            )
        return out + list(self.notes)


def spend_files_in(folder: Path) -> list[Path]:
    """Spend files in ``folder`` (not recursive), oldest first so a later correction wins."""
    files = [
        p
        for p in folder.iterdir()
        if p.is_file() and p.suffix.lower() in SPEND_SUFFIXES and not p.name.startswith((".", "~$"))
    ]
    return sorted(files, key=lambda p: (p.stat().st_mtime, p.name))


def import_folder(engine: Engine, folder: Path, *, now: datetime | None = None) -> FolderImport:
    """Import every file of ``folder`` whose content was never imported; each file once (SHA-256)."""
    if not folder.is_dir():
        return FolderImport(notes=(f"spend.folder {folder} does not exist; no spend files imported",))
    with engine.connect() as conn:
        seen = store.imported_hashes(conn)
    fresh: list[SpendFile] = []
    already = 0
    for path in spend_files_in(folder):
        spend = read_spend_file(path, name=path.name)
        if spend.sha256 in seen:
            already += 1
            continue
        seen.add(spend.sha256)
        fresh.append(spend)
    results = import_files(engine, fresh, now=now)
    for r in results:
        if r.ok:
            log.info("spend file %s imported: %s rows", r.name, r.added + r.replaced + r.unchanged)
        else:
            log.warning("spend file %s NOT imported: %s", r.name, "; ".join(r.problems))
    return FolderImport(
        imported=tuple(r for r in results if r.ok),
        rejected=tuple(r for r in results if not r.ok),
        already=already,
    )
