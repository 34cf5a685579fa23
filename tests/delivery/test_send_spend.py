"""``send`` imports the spend files dropped in ``spend.folder`` first; a refused one is in the e-mail."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from cohort_service.app.send import run_send
from cohort_service.db.models import ad_spend
from cohort_service.simulator.api import SimulatorApp
from cohort_service.simulator.faults import Limits
from cohort_service.simulator.generate import generate_account
from cohort_service.simulator.server import serve
from tests.conftest import make_settings
from tests.delivery.conftest import SMTP_PASSWORD, SMTP_USER, SmtpServer
from tests.delivery.helpers import small_builder

MONDAY = datetime(2026, 11, 16, 8, 0, tzinfo=UTC)
HEADER = "date;source;cost\n"


@pytest.fixture(scope="module")
def amo() -> Iterator[tuple[str, str]]:
    app = SimulatorApp(generate_account(seed=5, leads=100, weeks=4), limits=Limits(rps=None))
    with serve(app) as url:
        yield url, app.oauth.issue_long_lived()


def _body(message: Any) -> str:
    part = message.get_body(preferencelist=("plain",))
    return str(part.get_content())


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_folder_files_imported_once_before_the_report_and_a_bad_one_reported(
    db_url: str, engine: Engine, amo: tuple[str, str], start_smtp: Any, tmp_path: Path
) -> None:
    server: SmtpServer = start_smtp()
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "week.csv").write_text(HEADER + "2026-11-10;yandex;100\n2026-11-11;yandex;50,5\n")
    (inbox / "broken.csv").write_text(HEADER + "2026-11-10;vk;10\n2026-11-11;vk;ten\n")
    settings = make_settings(
        db_url,
        amocrm={"base_url": amo[0], "token": amo[1], "requests_per_second": 50, "max_attempts": 1},
        report={"timezone": "Europe/Moscow", "out_dir": str(tmp_path / "reports")},
        spend={"folder": str(inbox)},
        email={
            "host": "127.0.0.1", "port": server.port, "security": "none", "user": SMTP_USER,
            "password": SMTP_PASSWORD, "from": "r@example.com", "to": ["head@example.com"],
        },
    )  # fmt: skip

    first = run_send(settings, builder=small_builder, clock=lambda: MONDAY, sleep=lambda _s: None)
    assert first.status == "sent"
    assert first.spend is not None
    assert [r.name for r in first.spend.imported] == ["week.csv"]
    assert [r.name for r in first.spend.rejected] == ["broken.csv"]
    body = _body(server.recorder.messages[0])
    assert "Spend file broken.csv was NOT imported (1 problems)" in body
    assert "broken.csv:3: cost: not a number: 'ten'" in body
    with engine.connect() as conn:
        stored = conn.execute(select(ad_spend.c.source, ad_spend.c.cost).order_by(ad_spend.c.day)).all()
    assert [tuple(r) for r in stored] == [("yandex", Decimal(100)), ("yandex", Decimal("50.5"))]

    (inbox / "week.csv").touch()  # same content: not imported again
    second = run_send(settings, builder=small_builder, clock=lambda: MONDAY, force=True)
    assert second.spend is not None
    assert (second.spend.imported, second.spend.already) == ((), 1)
    assert [r.name for r in second.spend.rejected] == ["broken.csv"]  # still refused, still said
