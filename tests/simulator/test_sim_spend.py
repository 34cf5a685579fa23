"""The simulator's spend export: a valid file for our importer, every paid day × campaign, and
sources that differ in what a lead and a sale cost (so the demo's money columns say something)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

from cohort_service.simulator import generate_account
from cohort_service.simulator.spend import ALIASES, PAID, spend_lines, write_spend_csv
from cohort_service.spend.parse import read_spend_file


def test_export_parses_and_covers_every_day_and_campaign(tmp_path: Path) -> None:
    account = generate_account(seed=3, leads=3000, weeks=8)
    path = write_spend_csv(account, tmp_path / "spend.csv")
    assert path.read_bytes().startswith(b"\xef\xbb\xbfdate;source;campaign;cost")
    parsed = read_spend_file(path)
    assert parsed.ok, parsed.problems[:5]
    zone = ZoneInfo(account.timezone)
    first = datetime.fromtimestamp(account.start, zone).date()
    last = datetime.fromtimestamp(account.now, zone).date() - timedelta(days=1)
    days = (last - first).days + 1
    campaigns = sum(len(c.campaigns) or 1 for c in account.channels if c.source in PAID) + 1  # + mytarget
    assert len(parsed.rows) == days * campaigns
    assert parsed.merged == 0
    assert {r.day for r in parsed.rows} == {first + timedelta(days=i) for i in range(days)}
    assert {r.currency for r in parsed.rows} == {"RUB"}
    assert all(r.cost > 0 and r.clicks is not None and r.impressions is not None for r in parsed.rows)
    assert sum(r.cost for r in parsed.rows) == sum(Decimal(f"{s.cost:.2f}") for s in spend_lines(account))
    # deterministic per seed
    assert spend_lines(account) == spend_lines(generate_account(seed=3, leads=3000, weeks=8))


def test_sources_differ_in_cpl_and_cac() -> None:
    account = generate_account(seed=5, leads=20000, weeks=26)
    spend: dict[str, float] = {}
    for line in spend_lines(account):
        source = ALIASES.get(line.source, line.source)
        spend[source] = spend.get(source, 0.0) + line.cost
    assert "mytarget" in spend  # spend of a source no lead comes from
    names = [c.source for c in account.channels]
    won = account.statuses.is_won[account.leads.code]
    cpl, cac = {}, {}
    for source in ("yandex", "google", "vk"):
        mine = account.leads.channel == names.index(source)
        cpl[source] = spend[source] / int(mine.sum())
        cac[source] = spend[source] / int((mine & won).sum())
    assert cpl["vk"] < cpl["yandex"] < cpl["google"]
    assert cac["vk"] > cac["yandex"]  # the cheap lead is the expensive sale
    assert np.isfinite(list(cac.values())).all()
