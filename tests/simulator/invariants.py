"""Whole-account invariants: the lead's fields are the end of its event path, and the path is sane."""

from __future__ import annotations

import numpy as np

from cohort_service.simulator.model import EV_CONTACT, EV_DELETED, EV_RESTORED, EV_STATUS, SimAccount


def check_account(account: SimAccount) -> None:
    """Raise AssertionError naming the first broken invariant."""
    leads, ev = account.leads, account.events
    assert np.all(np.diff(leads.id) > 0), "lead ids grow with creation"
    assert np.all(np.diff(leads.created_at) >= 0), "leads are in creation order"
    assert np.all(np.diff(ev.created_at) >= 0), "events are in time order"
    assert ev.created_at.size == 0 or ev.created_at[-1] <= account.now, "no event after the clock"
    assert np.all(leads.created_at <= account.now)
    ids = account.event_ids(np.arange(len(ev), dtype=np.int64))
    assert np.unique(ids).size == ids.size, "event ids are unique"
    _check_paths(account)
    _check_closing(account)
    _check_trash(account)
    _check_updated(account)


def _status_events(account: SimAccount) -> tuple[np.ndarray, np.ndarray]:
    """Status-event indices grouped by lead (time order within a lead) and their lead positions."""
    ev = account.events
    index = np.flatnonzero(ev.type == EV_STATUS)
    lead = np.searchsorted(account.leads.id, ev.entity_id[index])
    order = np.lexsort((index, lead))
    return index[order], lead[order]


def _check_paths(account: SimAccount) -> None:
    leads, ev = account.leads, account.events
    index, lead = _status_events(account)
    assert np.all(account.leads.id[lead] == ev.entity_id[index]), "every status event belongs to a lead"
    first = np.ones(index.size, dtype=bool)
    first[1:] = lead[1:] != lead[:-1]
    last = np.ones(index.size, dtype=bool)
    last[:-1] = lead[1:] != lead[:-1]
    before, after, times = ev.before[index], ev.after[index], ev.created_at[index]
    assert np.all(before[first] == leads.init_code[lead[first]]), "first change starts at the initial status"
    assert np.all(before[~first] == after[np.flatnonzero(~first) - 1]), "value_before = previous point"
    assert np.all(times[first] > leads.created_at[lead[first]]), "first change after creation"
    assert np.all(times[~first] > times[np.flatnonzero(~first) - 1]), "change times increase per lead"
    assert np.all(before != after), "a change changes something"
    final = leads.init_code.copy()
    final[lead[last]] = after[last]
    assert np.array_equal(final, leads.code), "current status = last value_after (or the initial one)"


def _check_closing(account: SimAccount) -> None:
    leads, st, ev = account.leads, account.statuses, account.events
    closed = st.is_won[leads.code] | st.is_lost[leads.code]
    assert np.all((leads.closed_at > 0) == closed), "closed_at is set exactly for won/lost leads"
    index, lead = _status_events(account)
    last = np.ones(index.size, dtype=bool)
    last[:-1] = lead[1:] != lead[:-1]
    entered = np.zeros(len(leads), dtype=np.int64)
    entered[lead[last]] = ev.created_at[index[last]]
    moved_closed = closed & (entered > 0)
    assert np.array_equal(leads.closed_at[moved_closed], entered[moved_closed]), "closed_at = time of closing"
    lost = st.is_lost[leads.code]
    if account.loss_reasons_enabled:
        assert np.all(leads.loss_reason[lost] >= 0), "every lost lead has a reason"
    assert np.all(leads.loss_reason[~lost] == -1), "only lost leads carry a reason"
    if not account.loss_reasons_enabled:
        assert np.all(leads.loss_reason == -1)


def _check_trash(account: SimAccount) -> None:
    """is_deleted agrees with the last delete/restore event; no status change while in the trash."""
    leads, ev = account.leads, account.events
    index = np.flatnonzero((ev.type == EV_DELETED) | (ev.type == EV_RESTORED) | (ev.type == EV_STATUS))
    lead = np.searchsorted(leads.id, ev.entity_id[index])
    order = np.lexsort((index, lead))
    index, lead = index[order], lead[order]
    kind = ev.type[index]
    state = np.zeros(len(leads), dtype=bool)
    deleted_at = np.zeros(len(leads), dtype=np.int64)
    previous_lead, in_trash = -1, False
    for k, who, what in zip(index.tolist(), lead.tolist(), kind.tolist(), strict=True):
        if who != previous_lead:
            previous_lead, in_trash = who, False
        assert not (in_trash and what == EV_STATUS), f"lead {leads.id[who]} moved while deleted"
        assert not (in_trash and what == EV_DELETED), "deleted twice without a restore"
        assert in_trash or what != EV_RESTORED, "restored without being deleted"
        if what != EV_STATUS:
            in_trash = what == EV_DELETED
            state[who] = in_trash
            deleted_at[who] = int(ev.created_at[k]) if in_trash else 0
    assert np.array_equal(state, leads.is_deleted), "is_deleted = last delete/restore event"
    assert np.array_equal(deleted_at, leads.deleted_at), "deleted_at = time of that deletion"


def _check_updated(account: SimAccount) -> None:
    leads, ev = account.leads, account.events
    is_lead = ev.type != EV_CONTACT
    lead = np.searchsorted(leads.id, ev.entity_id[is_lead])
    latest = leads.created_at.copy()
    np.maximum.at(latest, lead, ev.created_at[is_lead])
    assert np.all(leads.updated_at >= latest), "updated_at >= the lead's last event"
    assert np.all(leads.updated_at <= account.now)
