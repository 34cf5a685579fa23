"""`spend import` / `spend list` through the real entry point against a real Postgres."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, insert, select
from sqlalchemy.pool import NullPool

from cohort_service.amocrm.schemas import parse_account
from cohort_service.db.models import account, ad_spend, spend_files
from cohort_service.spend.importer import import_folder
from cohort_service.sync.rows import account_row
from tests.amocrm.conftest import sample
from tests.conftest import CliResult

HEADER = "date;source;campaign;cost;currency\n"


def _rows(engine: Engine) -> list[tuple[date, str, str, Decimal, str | None]]:
    with engine.connect() as conn:
        result = conn.execute(
            select(
                ad_spend.c.day, ad_spend.c.source, ad_spend.c.campaign, ad_spend.c.cost, ad_spend.c.file
            ).order_by(ad_spend.c.day, ad_spend.c.source, ad_spend.c.campaign)
        )
        return [tuple(r) for r in result]  # type: ignore[misc]


@pytest.fixture
def spend(tmp_path: Path, db_url: str, run_cli: Callable[..., CliResult]) -> Callable[..., CliResult]:
    """``spend("import", file…)``: ``cohort-service spend …`` with a config naming this test's database."""
    path = tmp_path / "config.toml"
    path.write_text(f'[database]\nurl = "{db_url}"\n', encoding="utf-8")

    def run(*args: str) -> CliResult:
        return run_cli("--config", str(path), "spend", *args)

    return run


def test_import_then_reimport_replaces_and_dry_run_changes_nothing(
    tmp_path: Path, engine: Engine, spend: Callable[..., CliResult]
) -> None:
    first = tmp_path / "nov.csv"
    first.write_text(HEADER + "01.12.2026;yandex;brand;100,50;RUB\n02.12.2026;yandex;brand;200;RUB\n")
    result = spend("import", str(first))
    assert result.exit_code == 0, result.stderr
    assert "imported 2 rows for 2026-12-01..2026-12-02, cost 300.50 (2 new, 0 replaced, 0 unchanged)" in (
        result.stdout
    )

    fixed = tmp_path / "nov-fixed.csv"
    fixed.write_text(HEADER + "02.12.2026;yandex;brand;250;RUB\n02.12.2026;yandex;;7;RUB\n")
    dry = spend("import", "--dry-run", str(fixed))
    assert dry.exit_code == 0, dry.stderr
    assert "would import 2 rows" in dry.stdout
    assert "(1 new, 1 replaced, 0 unchanged)" in dry.stdout
    assert "2026-12-02 yandex / brand: cost 200.00 → 250.00" in dry.stdout
    assert _rows(engine) == [
        (date(2026, 12, 1), "yandex", "brand", Decimal("100.50"), str(first)),
        (date(2026, 12, 2), "yandex", "brand", Decimal("200"), str(first)),
    ]

    again = spend("import", str(fixed))
    assert again.exit_code == 0, again.stderr
    assert _rows(engine) == [
        (date(2026, 12, 1), "yandex", "brand", Decimal("100.50"), str(first)),
        (date(2026, 12, 2), "yandex", "", Decimal("7"), str(fixed)),
        (date(2026, 12, 2), "yandex", "brand", Decimal("250"), str(fixed)),
    ]

    listing = spend("list", "--since", "2026-12-02")
    assert listing.exit_code == 0, listing.stderr
    assert "total yandex: 257.00 RUB" in listing.stdout
    assert "2026-12-01" not in listing.stdout


def test_bad_file_exits_2_lists_every_line_and_changes_nothing(
    tmp_path: Path, engine: Engine, spend: Callable[..., CliResult]
) -> None:
    """A text cost, a bad date and a bad line among good ones: exit 2, nothing of the file stored."""
    good = tmp_path / "good.csv"
    good.write_text(HEADER + "2026-12-01;vk;;10;RUB\n")
    assert spend("import", str(good)).exit_code == 0
    before = _rows(engine)

    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "2026-12-01;vk;;99;RUB\n2026-13-01;vk;;5;RUB\n2026-12-03;vk;;пять;RUB\n")
    missing = tmp_path / "missing.csv"
    missing.write_text("date;cost\n2026-12-01;5\n")
    result = spend("import", str(bad), str(missing))
    assert result.exit_code == 2
    errors = [line.removeprefix("error: ") for line in result.stderr.strip().splitlines()]
    assert errors == [
        f"{bad}:3: date: not a date (use YYYY-MM-DD or DD.MM.YYYY)",
        f"{bad}:4: cost: not a number: 'пять'",
        f"{missing}:1: source: missing column (the header row has: date, cost)",
        f"nothing imported from {bad}, {missing}",
    ]
    assert _rows(engine) == before


def test_currency_other_than_the_accounts_is_refused(
    tmp_path: Path, engine: Engine, spend: Callable[..., CliResult]
) -> None:
    synced = replace(parse_account(sample("doc_account_fixed.json")), currency="RUB")  # as sync stores it
    with engine.begin() as conn:
        conn.execute(insert(account).values(**account_row(synced)))
    usd = tmp_path / "usd.csv"
    usd.write_text(HEADER + "2026-12-01;google;;10;USD\n2026-12-02;google;;10;\n")
    result = spend("import", str(usd))
    assert result.exit_code == 2
    assert f"{usd}:2: currency: USD differs from RUB, the amoCRM account's currency" in result.stderr
    assert _rows(engine) == []


def test_folder_import_takes_each_file_once_and_rejects_a_bad_one_whole(tmp_path: Path, db_url: str) -> None:
    engine = create_engine(db_url, poolclass=NullPool)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "a.csv").write_text(HEADER + "2026-12-01;vk;;10;RUB\n")
    (inbox / "bad.csv").write_text(HEADER + "2026-12-02;vk;;10;RUB\nxx;vk;;1;RUB\n")
    (inbox / "notes.md").write_text("not spend")

    first = import_folder(engine, inbox)
    assert [r.name for r in first.imported] == ["a.csv"]
    assert [r.problems for r in first.rejected] == [
        ("bad.csv:3: date: not a date (use YYYY-MM-DD or DD.MM.YYYY)",)
    ]
    assert "spend file bad.csv NOT imported (1 problems); fix it and drop it again:" in first.lines()

    second = import_folder(engine, inbox)
    assert (second.imported, second.already, len(second.rejected)) == ((), 1, 1)

    (inbox / "bad.csv").write_text(HEADER + "2026-12-02;vk;;10;RUB\n2026-12-03;vk;;1;RUB\n")
    third = import_folder(engine, inbox)
    assert ([r.name for r in third.imported], third.already, third.rejected) == (["bad.csv"], 1, ())
    assert [(d, c) for d, _s, _c, c, _f in _rows(engine)] == [
        (date(2026, 12, 1), Decimal(10)),
        (date(2026, 12, 2), Decimal(10)),
        (date(2026, 12, 3), Decimal(1)),
    ]
    with engine.connect() as conn:
        assert conn.execute(select(spend_files.c.name).order_by(spend_files.c.name)).scalars().all() == [
            "a.csv",
            "bad.csv",
        ]
    engine.dispose()
