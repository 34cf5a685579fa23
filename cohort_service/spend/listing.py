"""``spend list``: the stored rows as aligned text and the total per source."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from cohort_service.spend.store import StoredSpend


def _count(value: int | None) -> str:
    return "" if value is None else f"{value:,}"


def render_listing(rows: Sequence[StoredSpend]) -> list[str]:
    if not rows:
        return ["no spend stored (import some with `cohort-service spend import FILE`)"]
    width = max(len(r.source) for r in rows)
    out = [f"{'date':<10}  {'source':<{width}}  {'cost':>14}  {'impressions':>11}  {'clicks':>9}  campaign"]
    totals: dict[str, Decimal] = {}
    for r in rows:
        out.append(
            f"{r.day:%Y-%m-%d}  {r.source:<{width}}  {r.cost:>14,.2f}  {_count(r.impressions):>11}"
            f"  {_count(r.clicks):>9}  {r.campaign}"
        )
        totals[r.source] = totals.get(r.source, Decimal(0)) + r.cost
    currency = next((r.currency for r in rows if r.currency), None)
    unit = f" {currency}" if currency else ""
    out.append("")
    out += [f"total {source}: {cost:,.2f}{unit}" for source, cost in sorted(totals.items())]
    out.append(f"total: {sum(totals.values(), Decimal(0)):,.2f}{unit} in {len(rows)} rows")
    return out
