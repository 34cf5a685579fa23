"""Generated accounts: shape of the reference data, path invariants, realistic behaviour, time moving."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cohort_service.simulator.generate import generate_account
from cohort_service.simulator.life import advance
from cohort_service.simulator.model import (
    EV_ADDED,
    EV_CONTACT,
    EV_DELETED,
    EV_RESTORED,
    EV_STATUS,
    EVENT_TYPES,
    SimAccount,
)
from tests.simulator.invariants import check_account

MSK = ZoneInfo("Europe/Moscow")


@pytest.fixture(scope="module")
def big() -> SimAccount:
    return generate_account(seed=3, leads=20_000, weeks=52)


def test_reference_data(big: SimAccount) -> None:
    assert 5 <= len(big.users) <= 30
    assert sum(u.is_admin for u in big.users) == 1
    assert any(not u.is_active for u in big.users)
    assert len(big.pipelines) >= 2
    for p in big.pipelines:
        assert 1_000_000 <= p.id <= 9_999_999
        unsorted, *working, won, lost = p.statuses
        assert (unsorted.type, unsorted.sort, unsorted.is_editable) == (1, 10, False)
        assert 4 <= len(working) <= 7
        assert all(s.type == 0 and s.is_editable for s in working)
        sorts = [s.sort for s in working]
        assert sorts == sorted(sorts)
        assert sorts[0] > 10
        assert (won.id, won.sort, won.is_editable, won.name) == (142, 10000, False, "Успешно реализовано")
        assert (lost.id, lost.sort, lost.is_editable, lost.name) == (
            143,
            11000,
            False,
            "Закрыто и не реализовано",
        )
    codes = {f.code for f in big.custom_fields}
    assert {"UTM_SOURCE", "UTM_MEDIUM", "UTM_CAMPAIGN"} <= codes
    product = next(f for f in big.custom_fields if f.name == "Продукт")
    assert product.type == "select"
    assert product.enums
    assert {f.type for f in big.custom_fields} >= {"text", "select", "numeric", "checkbox", "date"}
    assert 5 <= len(big.loss_reasons) <= 8


def test_default_end_is_a_fixed_moment() -> None:
    account = generate_account(seed=1, leads=50, weeks=2)
    assert account.now == int(datetime(2026, 11, 16, 9, 0, tzinfo=MSK).timestamp())
    assert account.leads.created_at.max() <= account.now
    assert account.leads.created_at.min() > account.now - 2 * 7 * 86400


def test_invariants_on_a_big_account(big: SimAccount) -> None:
    check_account(big)


def _visits(account: SimAccount) -> dict[int, int]:
    """Per position of the main pipeline: how many leads were ever there (creation or a move)."""
    st, leads, ev = account.statuses, account.leads, account.events
    codes = np.concatenate([leads.init_code, ev.after[ev.type == EV_STATUS]])
    owners = np.concatenate([leads.id, ev.entity_id[ev.type == EV_STATUS]])
    main = st.pipe[codes] == 0
    pairs = np.unique(np.stack([owners[main], st.pos[codes[main]]]), axis=1)
    positions, counts = np.unique(pairs[1], return_counts=True)
    return dict(zip(positions.tolist(), counts.tolist(), strict=True))


def test_realistic_behaviour(big: SimAccount) -> None:
    """Funnel narrows; every kind of move the sync must survive occurs."""
    st, leads, ev = big.statuses, big.leads, big.events
    visits = _visits(big)
    working = int(st.working[0])
    won_pos = working + 1
    ladder = [visits[1], visits[3], visits[working], visits[won_pos]]
    assert ladder == sorted(ladder, reverse=True)
    assert ladder[0] > 2 * ladder[-1]
    assert set(np.unique(st.pipe[leads.code]).tolist()) == set(range(len(big.pipelines)))
    assert st.is_unsorted[leads.code].sum() > 0, "some leads stay in Unsorted"
    status = ev.type == EV_STATUS
    before, after = ev.before[status], ev.after[status]
    same_pipe = st.pipe[before] == st.pipe[after]
    assert np.any(~same_pipe), "moves between pipelines"
    working_before = ~st.is_won[before] & ~st.is_lost[before] & (st.pos[before] > 0)
    assert np.any(same_pipe & working_before & (st.pos[after] < st.pos[before])), "backward moves"
    assert np.any(same_pipe & working_before & (st.pos[after] > st.pos[before] + 1) & ~st.is_lost[after]), (
        "skips"
    )
    assert np.any(st.is_lost[before] & ~st.is_lost[after]), "reopen after loss"
    assert np.any(st.is_won[before] & ~st.is_won[after]), "a won lead moved back"
    assert len({int(st.pos[c]) for c in before[st.is_lost[after]].tolist()}) >= 5, "lost from many stages"
    assert np.any(st.pos[leads.init_code] >= 2), "created mid-funnel"
    counts = np.bincount(ev.type, minlength=len(EVENT_TYPES))
    assert counts[EV_ADDED] == len(leads)
    assert counts[EV_DELETED] > counts[EV_RESTORED] > 0
    assert all(counts[code] > 0 for code in range(len(EVENT_TYPES))), "noise of every type"
    assert counts[EV_STATUS] / len(leads) > 4.5, "paths are long enough"
    won_share = st.is_won[leads.code].mean()
    assert 0.05 < won_share < 0.45


def test_source_and_manager_change_conversion(big: SimAccount) -> None:
    st, leads = big.statuses, big.leads
    won = st.is_won[leads.code]
    by_channel = [won[leads.channel == c].mean() for c in range(len(big.channels))]
    assert max(by_channel) > 1.5 * min(by_channel)
    by_user = [
        won[leads.responsible == u].mean()
        for u in range(len(big.users))
        if (leads.responsible == u).sum() > 300
    ]
    assert max(by_user) > 1.2 * min(by_user)


def test_weekly_volume_varies(big: SimAccount) -> None:
    weeks = np.bincount((big.leads.created_at - big.start) // (7 * 86400))[:52]
    assert weeks.min() > 0
    assert weeks.max() > 1.3 * weeks.min()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 100_000), leads=st.integers(0, 400), weeks=st.integers(1, 30))
def test_invariants_hold_for_any_seed(seed: int, leads: int, weeks: int) -> None:
    account = generate_account(seed=seed, leads=leads, weeks=weeks)
    assert len(account.leads) == leads
    check_account(account)


@pytest.mark.parametrize(("seed", "leads"), [(1, 3000), (2, 1500), (9, 100)])
def test_invariants_across_seeds_and_sizes(seed: int, leads: int) -> None:
    check_account(generate_account(seed=seed, leads=leads, weeks=40))


def test_options_change_the_account() -> None:
    plain = generate_account(
        seed=4,
        leads=2000,
        weeks=20,
        loss_reasons_enabled=False,
        unsorted_on=False,
        timezone="Asia/Yekaterinburg",
    )
    check_account(plain)
    assert np.all(plain.leads.loss_reason == -1)
    assert not plain.statuses.is_unsorted[plain.leads.init_code].any()
    assert plain.timezone == "Asia/Yekaterinburg"
    assert plain.now == int(datetime(2026, 11, 16, 9, 0, tzinfo=ZoneInfo("Asia/Yekaterinburg")).timestamp())


def test_same_arguments_same_account() -> None:
    one = generate_account(seed=21, leads=700, weeks=10)
    two = generate_account(seed=21, leads=700, weeks=10)
    other = generate_account(seed=22, leads=700, weeks=10)
    for name in one.leads.__dataclass_fields__:
        assert np.array_equal(getattr(one.leads, name), getattr(two.leads, name)), name
    for name in one.events.__dataclass_fields__:
        assert np.array_equal(getattr(one.events, name), getattr(two.events, name)), name
    assert not np.array_equal(one.leads.created_at, other.leads.created_at)


def test_advance_continues_life() -> None:
    account = generate_account(seed=8, leads=3000, weeks=20)
    before_now, before_leads, before_events = account.now, len(account.leads), len(account.events)
    before_updated = account.leads.updated_at.copy()
    before_codes = account.leads.code.copy()
    added = advance(account, 7)
    check_account(account)
    assert account.now == before_now + 7 * 86400
    assert added == len(account.events) - before_events > 0
    new_events = account.events.created_at[before_events:]
    assert new_events.min() > before_now
    assert new_events.max() <= account.now
    new_leads = account.leads.created_at[before_leads:]
    assert 20 < new_leads.size < 400  # ~150 a week
    assert new_leads.min() > before_now
    old = slice(0, before_leads)
    moved = account.leads.code[old] != before_codes
    touched = account.leads.updated_at[old] != before_updated
    assert moved.sum() > 50
    assert np.all(touched[moved]), "a lead that moved was updated"
    assert np.all(account.leads.updated_at[old][touched] > before_now)
    kinds = set(account.events.type[before_events:].tolist())
    assert {EV_STATUS, EV_ADDED, EV_CONTACT} <= kinds


def test_advance_is_reproducible() -> None:
    one, two = generate_account(seed=8, leads=500, weeks=8), generate_account(seed=8, leads=500, weeks=8)
    for account in (one, two):
        advance(account, 2.5)
        advance(account, 0.25)
    assert np.array_equal(one.events.created_at, two.events.created_at)
    assert np.array_equal(one.leads.code, two.leads.code)
    with pytest.raises(ValueError, match="positive"):
        advance(one, 0)


@pytest.mark.parametrize(
    ("column", "message"),
    [
        ("code", "current status"),
        ("closed_at", "closed_at"),
        ("is_deleted", "is_deleted"),
        ("init_code", "initial"),
    ],
)
def test_checker_catches_a_tampered_lead(column: str, message: str) -> None:
    """The invariant checker is not vacuous: one wrong field in one lead is caught."""
    account = generate_account(seed=2, leads=300, weeks=8)
    st = account.statuses
    target = int(np.flatnonzero(st.is_won[account.leads.code] & (st.pipe[account.leads.code] == 0))[0])
    values = getattr(account.leads, column)
    values[target] = {
        "code": st.code(np.array([1]), np.array([1]))[0],
        "closed_at": 0,
        "is_deleted": True,
        "init_code": values[target] + 1,
    }[column]
    with pytest.raises(AssertionError, match=message):
        check_account(account)
