"""A spend export for a simulated account: per local day × paid channel × campaign, as ad platforms write it.

Budgets are set per channel and day (weekday shape, a slow drift, day-to-day noise), not derived
from the leads that came, so CPL moves from day to day as it does for a real advertiser. Channels
differ on purpose: VK is cheaper per lead than Yandex but its leads convert poorly (a higher CAC),
email costs little, partners are paid no ad money (leads without spend), and a display campaign on
``mytarget`` brings no tracked lead (spend without leads). The file looks like a Russian
Yandex.Direct export: BOM, ``;``, ``DD.MM.YYYY``, decimal commas, the platform's name for the source.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

from cohort_service.simulator.model import SimAccount

# utm_source → (name in the ad platform's export, target cost per lead, cost per 1000 impressions)
PAID: dict[str, tuple[str, float, float]] = {
    "yandex": ("Яндекс.Директ", 1900.0, 310.0),
    "google": ("Google Ads", 2600.0, 420.0),
    "vk": ("VK Реклама", 1400.0, 140.0),
    "telegram": ("Telegram Ads", 1500.0, 260.0),
    "email": ("email", 120.0, 15.0),
}
UNTRACKED = ("mytarget", "display", 2500.0, 90.0)  # (source, campaign, daily budget, CPM)
ALIASES = {export: source for source, (export, _cpl, _cpm) in PAID.items()}
CURRENCY = "RUB"
_WEEKDAY = np.array([1.05, 1.1, 1.05, 1.0, 0.95, 0.55, 0.45])


@dataclass(frozen=True)
class SpendLine:
    day: date
    source: str
    campaign: str
    cost: float
    impressions: int
    clicks: int


def spend_lines(account: SimAccount) -> list[SpendLine]:
    """Every day of the account's history up to the day before ``now`` (local), deterministic per seed."""
    zone = ZoneInfo(account.timezone)
    first = datetime.fromtimestamp(account.start, zone).date()
    last = datetime.fromtimestamp(account.now, zone).date() - timedelta(days=1)
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    rng = np.random.default_rng([account.seed, 13])
    weights = np.array([c.weight for c in account.channels])
    daily_leads = account.weekly_leads / 7 * weights / weights.sum()
    drift = np.exp(np.cumsum(0.03 * rng.standard_normal(len(days))))
    out: list[SpendLine] = []
    for index, channel in enumerate(account.channels):
        if channel.source not in PAID:
            continue
        export_name, cpl, cpm = PAID[channel.source]
        campaigns = channel.campaigns or ("",)
        budget = daily_leads[index] * cpl / len(campaigns)
        for campaign in campaigns:
            noise = np.exp(0.25 * rng.standard_normal(len(days)))
            for i, day in enumerate(days):
                cost = round(float(budget * _WEEKDAY[day.weekday()] * drift[i] * noise[i]), 2)
                out.append(_line(day, export_name, campaign, cost, cpm=cpm, rng=rng))
    source, campaign, budget, cpm = UNTRACKED
    for i, day in enumerate(days):
        cost = round(float(budget * drift[i] * np.exp(0.2 * rng.standard_normal())), 2)
        out.append(_line(day, source, campaign, cost, cpm=cpm, rng=rng))
    return sorted(out, key=lambda s: (s.day, s.source, s.campaign))


def _line(
    day: date, source: str, campaign: str, cost: float, *, cpm: float, rng: np.random.Generator
) -> SpendLine:
    impressions = int(cost / cpm * 1000 * float(np.exp(0.1 * rng.standard_normal())))
    clicks = int(impressions * float(rng.uniform(0.006, 0.025)))
    return SpendLine(day, source, campaign, cost, impressions, clicks)


def _decimal_comma(value: float) -> str:
    return f"{value:.2f}".replace(".", ",")


def write_spend_csv(account: SimAccount, path: Path) -> Path:
    """The account's spend as a Yandex-style CSV export (UTF-8 with BOM, ``;``, decimal comma)."""
    rows = ["date;source;campaign;cost;impressions;clicks;currency"]
    rows += [
        f"{s.day:%d.%m.%Y};{s.source};{s.campaign};{_decimal_comma(s.cost)};{s.impressions};{s.clicks};{CURRENCY}"
        for s in spend_lines(account)
    ]
    path.write_text("\r\n".join(rows) + "\r\n", encoding="utf-8-sig")
    return path
