"""The planted weak spots the attention list must find: off by default, exactly where said when on."""

from __future__ import annotations

import numpy as np

from cohort_service.simulator.generate import generate_account
from cohort_service.simulator.life import advance


def test_no_plants_by_default() -> None:
    account = generate_account(seed=3, leads=500, weeks=8)
    assert account.plants == ()
    assert not account.leads.stall.any()


def test_plants_mark_the_planted_leads_only_and_follow_new_leads() -> None:
    account = generate_account(seed=3, leads=3000, weeks=12, plants=True)
    manager, source = account.plants
    assert manager.manager is not None
    assert source.channel is not None
    assert account.channels[source.channel].source == "vk"
    working = account.pipelines[0].working
    # The main pipeline's thirds, where the demo puts its 1st, 2nd and 3rd milestones.
    thirds = [round(i * (working - 1) / 3) + 1 for i in range(3)]
    assert manager.positions == tuple(range(thirds[1], thirds[2]))
    assert source.positions == tuple(range(thirds[0], thirds[1]))
    leads = account.leads
    by_manager = (leads.responsible == manager.manager) & (leads.created_at >= manager.since)
    by_source = leads.channel == source.channel
    manager_bits = sum(1 << p for p in manager.positions)
    source_bits = sum(1 << p for p in source.positions)
    want = np.where(by_manager, manager_bits, 0) | np.where(by_source, source_bits, 0)
    assert np.array_equal(leads.stall, want)
    assert by_manager.sum() > 50
    assert (leads.created_at[by_manager] >= manager.since).all()
    before = len(account.leads)
    advance(account, 7)
    fresh = account.leads.stall[before:]
    fresh_vk = account.leads.channel[before:] == source.channel
    assert (fresh[fresh_vk] & source_bits == source_bits).all()
