"""Money per cohort week and per source, worked by hand (docs/metrics.md "Money").

Two weeks in Moscow time, milestones qualified → paid, leads of yandex/Google/no source, and
spend that includes an alias ("Яндекс.Директ" → yandex), a case difference ("Google Ads" → google
vs the leads' "Google"), a source with no leads (vk) and a day with spend but no lead (29.11).
"""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cohort_service.cohorts.money import (
    SpendMatch,
    channels_table,
    cohort_money,
    lead_costs,
    week_spend,
    with_cac_forecast,
)

TZ = ZoneInfo("Europe/Moscow")
WEEKS = [date(2026, 11, 23), date(2026, 11, 30)]
MILESTONES = ["qualified", "paid"]
MATCH = SpendMatch("dim_1", {"Яндекс.Директ": "yandex", "google ads": "google"})


def _ts(local: str | None) -> pd.Timestamp:
    return pd.NaT if local is None else pd.Timestamp(local, tz=TZ).tz_convert("UTC")


def _facts(rows: list[tuple[str, str | None, str | None, str | None, float]]) -> pd.DataFrame:
    """(created local, source, qualified at, paid at, revenue if won)."""
    created = pd.Series([_ts(r[0]) for r in rows], dtype="datetime64[us, UTC]")
    local_day = created.dt.tz_convert(TZ).dt.tz_localize(None).dt.normalize()
    return pd.DataFrame(
        {
            "lead_id": range(1, len(rows) + 1),
            "cohort_week": (local_day - pd.to_timedelta(local_day.dt.day_of_week, unit="D")).astype(
                "datetime64[us]"
            ),
            "created_at": created,
            "at_1": pd.Series([_ts(r[2]) for r in rows], dtype="datetime64[us, UTC]"),
            "at_2": pd.Series([_ts(r[3]) for r in rows], dtype="datetime64[us, UTC]"),
            "won": [r[4] > 0 for r in rows],
            "revenue": [r[4] for r in rows],
            "dim_1": pd.Series([r[1] for r in rows], dtype=object),
        }
    )


FACTS = _facts(
    [
        ("2026-11-23 10:00", "yandex", "2026-11-24 10:00", "2026-11-26 10:00", 1000.0),
        ("2026-11-23 12:00", "yandex", "2026-11-24 10:00", None, 0.0),
        ("2026-11-24 09:00", "Google", None, None, 0.0),
        ("2026-11-24 23:30", None, None, None, 0.0),
        ("2026-11-30 00:10", "yandex", "2026-12-01 10:00", "2026-12-02 10:00", 3000.0),  # 29.11 in UTC
        ("2026-12-01 10:00", " google ", "2026-12-02 10:00", None, 0.0),
    ]
)
SPEND = pd.DataFrame(
    {
        "day": pd.to_datetime(
            ["2026-11-23", "2026-11-24", "2026-11-25", "2026-11-29", "2026-11-30", "2026-12-01", "2026-12-01"]
        ).astype("datetime64[us]"),
        "source": ["Яндекс.Директ", "google", "vk", "yandex", "yandex", "Google Ads", "google"],
        "cost": [300.0, 90.0, 50.0, 10.0, 200.0, 120.0, 30.0],
    }
)


def _cohorts() -> pd.DataFrame:
    return pd.DataFrame(
        {"leads": [4, 2], "qualified": [2, 2], "paid": [1, 1], "revenue": [1000.0, 3000.0]},
    )


def test_week_spend_is_every_source_of_its_seven_days() -> None:
    assert week_spend(SPEND, WEEKS).tolist() == [450.0, 350.0]
    assert week_spend(SPEND, [date(2026, 11, 16), *WEEKS]).isna().tolist() == [True, False, False]


def test_cohort_money_by_hand() -> None:
    money = cohort_money(_cohorts(), SPEND, weeks=WEEKS, milestones=MILESTONES)
    assert money["spend"].tolist() == [450.0, 350.0]
    assert money["CPL"].tolist() == [112.5, 175.0]
    assert money["cost per qualified"].tolist() == [225.0, 175.0]
    assert money["cost per paid"].tolist() == [450.0, 350.0]
    assert money["CAC"].tolist() == [450.0, 350.0]
    assert money["ROMI"].tolist() == pytest.approx([1000 / 450 - 1, 3000 / 350 - 1])


def test_blank_never_zero_or_infinite() -> None:
    """No paid lead → CAC blank; no spend row in the week → every money cell blank."""
    cohorts = pd.DataFrame({"leads": [0, 3], "qualified": [0, 0], "paid": [0, 0], "revenue": [0.0, 0.0]})
    spend = SPEND[SPEND["day"] < pd.Timestamp("2026-11-30")]
    money = cohort_money(cohorts, spend, weeks=WEEKS, milestones=MILESTONES)
    first, second = money.iloc[0], money.iloc[1]
    assert first["spend"] == 450.0
    assert first[["CPL", "CAC", "cost per qualified"]].isna().all()
    assert first["ROMI"] == -1.0  # money spent, nothing earned yet: a real −100 %
    assert second.isna().all()
    assert not np.isinf(money.to_numpy(dtype="float64")).any()


def test_each_lead_carries_its_share_of_its_day_and_source() -> None:
    costs = lead_costs(FACTS, SPEND, tz=TZ, match=MATCH)
    assert costs.iloc[:3].tolist() == [150.0, 150.0, 90.0]
    assert np.isnan(costs.iloc[3])  # no source: no spend can be its
    assert costs.iloc[4:].tolist() == [200.0, 150.0]  # created 00:10 Moscow on the 30th = that day's spend
    # The pivot's SUM(cost) is the spend of the days × sources that have leads; vk and 29.11 have none.
    assert costs.sum() == 800.0 - 50.0 - 10.0


def test_channels_keep_spend_without_leads_and_leads_without_spend() -> None:
    table = channels_table(FACTS, SPEND, weeks=WEEKS, milestones=MILESTONES, tz=TZ, match=MATCH)
    rows = {
        (r["cohort_week"].date(), r["source"]): r
        for r in table.to_dict("records")  # type: ignore[misc]
    }
    assert list(rows) == [
        (date(2026, 11, 23), "yandex"),
        (date(2026, 11, 23), "Google"),
        (date(2026, 11, 23), "(blank)"),
        (date(2026, 11, 23), "vk"),
        (date(2026, 11, 30), "yandex"),
        (date(2026, 11, 30), "Google"),  # one name per source: the first of equally frequent spellings
    ]
    yandex = rows[(date(2026, 11, 23), "yandex")]
    assert (yandex["leads"], yandex["qualified"], yandex["paid"], yandex["spend"]) == (2, 2, 1, 310.0)
    assert (yandex["CPL"], yandex["cost per qualified"], yandex["CAC"]) == (155.0, 155.0, 310.0)
    assert yandex["ROMI"] == pytest.approx(1000 / 310 - 1)
    google = rows[(date(2026, 11, 23), "Google")]
    assert (google["leads"], google["spend"], google["CPL"]) == (1, 90.0, 90.0)
    assert np.isnan(google["CAC"])
    assert google["ROMI"] == -1.0
    blank = rows[(date(2026, 11, 23), "(blank)")]
    assert blank["leads"] == 1
    assert np.isnan(blank["spend"])
    assert np.isnan(blank["CPL"])
    vk = rows[(date(2026, 11, 23), "vk")]
    assert (vk["leads"], vk["spend"]) == (0, 50.0)
    assert np.isnan(vk["CPL"])
    assert rows[(date(2026, 11, 30), "Google")]["spend"] == 150.0
    assert table["spend"].sum() == 800.0  # every rouble of the file is in some row
    assert table.groupby("cohort_week")["spend"].sum().tolist() == [450.0, 350.0]


def test_without_a_source_dimension_spend_is_shared_by_the_days_leads() -> None:
    match = SpendMatch(None, {})
    costs = lead_costs(FACTS, SPEND, tz=TZ, match=match)
    # 23.11: 300 over 2 leads; 24.11: 90 over 2 leads; 30.11: 200 over 1; 01.12: 150 over 1.
    assert costs.tolist() == [150.0, 150.0, 45.0, 45.0, 200.0, 150.0]
    table = channels_table(FACTS, SPEND, weeks=WEEKS, milestones=MILESTONES, tz=TZ, match=match)
    assert table["spend"].sum() == 800.0
    assert table["leads"].isna().all()


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 13), st.integers(0, 23), st.sampled_from(["a", "b", None])),
        min_size=1,
        max_size=40,
    ),
    st.lists(
        st.tuples(st.integers(0, 13), st.sampled_from(["a", "B", "c"]), st.integers(0, 10_000)), max_size=30
    ),
)
def test_costs_add_up_to_the_spend_of_days_and_sources_with_leads(
    leads: list[tuple[int, int, str | None]], spend_rows: list[tuple[int, str, int]]
) -> None:
    """Property: SUM(cost) of the leads = spend of the (day, source) pairs that have a lead; the
    channel rows hold all spend of the shown weeks."""
    facts = _facts(
        [
            (f"{pd.Timestamp('2026-11-23') + pd.Timedelta(days=d):%Y-%m-%d} {h:02d}:30", s, None, None, 0.0)
            for d, h, s in leads
        ]
    )
    spend = pd.DataFrame(
        {
            "day": pd.Series(
                [pd.Timestamp("2026-11-23") + pd.Timedelta(days=d) for d, _s, _c in spend_rows]
            ).astype("datetime64[us]"),
            "source": pd.Series([s for _d, s, _c in spend_rows], dtype=object),
            "cost": pd.Series([float(c) for _d, _s, c in spend_rows], dtype="float64"),
        }
    )
    match = SpendMatch("dim_1", {})
    costs = lead_costs(facts, spend, tz=TZ, match=match)
    lead_pairs = {(d, s.casefold()) for d, _h, s in leads if s is not None}
    expected = sum(float(c) for d, s, c in spend_rows if (d, s.casefold()) in lead_pairs)
    assert costs.sum() == pytest.approx(expected)
    table = channels_table(facts, spend, weeks=WEEKS, milestones=MILESTONES, tz=TZ, match=match)
    assert table["spend"].sum() == pytest.approx(sum(float(c) for _d, _s, c in spend_rows))
    assert table["leads"].sum() == len(leads)


def test_cac_forecast_is_spend_over_the_final_forecast() -> None:
    """Right after CAC; blank where the forecast is 0; absent without the forecast columns."""
    money = cohort_money(_cohorts(), SPEND, weeks=WEEKS, milestones=MILESTONES)
    cohorts = pd.concat([_cohorts(), money], axis=1)
    assert with_cac_forecast(cohorts, "paid").columns.tolist() == cohorts.columns.tolist()
    cohorts["paid forecast"] = [1.8, 0.0]
    out = with_cac_forecast(cohorts, "paid")
    names = out.columns.tolist()
    assert names[names.index("CAC") + 1] == "CAC forecast"
    assert out["CAC forecast"].iloc[0] == 450.0 / 1.8
    assert np.isnan(out["CAC forecast"].iloc[1])


def test_week_spend_is_rounded_to_the_cent() -> None:
    """Ten rows of 0.1 add up to 1.0 in cohorts.csv, not 0.9999999999999999."""
    spend = pd.DataFrame(
        {
            "day": pd.Series([pd.Timestamp("2026-11-23")] * 10).astype("datetime64[us]"),
            "source": [f"s{i}" for i in range(10)],
            "cost": [0.1] * 10,
        }
    )
    money = cohort_money(_cohorts(), spend, weeks=WEEKS, milestones=MILESTONES)
    assert money["spend"].iloc[0] == 1.0
    assert money["CPL"].iloc[0] == 0.25
