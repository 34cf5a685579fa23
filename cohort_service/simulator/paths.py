"""The life of a lead as a Markov process over statuses, run for many leads at once.

Each lead carries ``next_at``: when its next decision happens (0 = never again). A decision picks
an action — advance, skip a stage, step back, lose (with a reason), move to another pipeline,
delete, wait — with probabilities that depend on the stage and on the lead's ``quality`` (source
and manager mix). Won and lost leads may be moved back or reopened; deleted leads may be restored.
Every status change is a ``lead_status_changed`` event, so the lead's current fields are, by
construction, the end of its event path. Decisions later than the horizon stay pending, which is
how ``advance`` continues the same life later.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from cohort_service.simulator.events import EventBuffer
from cohort_service.simulator.model import EV_DELETED, EV_RESTORED, EV_STATUS, I64, Leads, StatusTable

HOUR, DAY = 3600, 86400
STALL_LOSE = 0.45  # chance to lose a planted lead at each decision in a stalled position
ADV, SKIP, BACK, MOVE, DELETE, WAIT, LOSE = range(7)


@dataclass
class Process:
    """What a step needs besides the leads: statuses, users, the RNG and where events go."""

    leads: Leads
    statuses: StatusTable
    user_ids: I64
    admin_id: int
    reasons: int
    rng: np.random.Generator
    out: EventBuffer


def dwell(rng: np.random.Generator, st: StatusTable, code: npt.NDArray[np.int16]) -> I64:
    """Seconds until the next decision in a status: hours in Unsorted, days to weeks further on."""
    pos = st.pos[code].astype(np.float64)
    median = np.where(pos == 0, 3 * HOUR, 0.3 * DAY * 1.55 ** np.maximum(pos - 1, 0))
    median = np.where(st.is_won[code], 25 * DAY, np.where(st.is_lost[code], 20 * DAY, median))
    seconds = median * np.exp(1.15 * rng.standard_normal(code.size))
    out: I64 = np.maximum(seconds, 120).astype(np.int64)
    return out


def run(proc: Process, candidates: I64, horizon: int) -> None:
    """Play every pending decision of ``candidates`` up to and including ``horizon``."""
    nxt = proc.leads.next_at
    active = candidates[(nxt[candidates] > 0) & (nxt[candidates] <= horizon)]
    while active.size:
        _step(proc, active, nxt[active].copy())
        active = active[(nxt[active] > 0) & (nxt[active] <= horizon)]


def _step(proc: Process, act: I64, t: I64) -> None:
    leads, st = proc.leads, proc.statuses
    code = leads.code[act]
    deleted = leads.is_deleted[act]
    won = st.is_won[code] & ~deleted
    lost = st.is_lost[code] & ~deleted
    open_ = ~deleted & ~won & ~lost
    _deleted(proc, act[deleted], t[deleted])
    _closed(proc, act[won], t[won], reopen=0.035)
    _closed(proc, act[lost], t[lost], reopen=0.1)
    _open(proc, act[open_], t[open_])


def _actor(proc: Process, idx: I64) -> I64:
    """Who made a change: mostly the responsible manager, sometimes the admin or a robot (0)."""
    u = proc.rng.random(idx.size)
    who = proc.user_ids[proc.leads.responsible[idx]]
    return np.where(u < 0.1, 0, np.where(u < 0.22, proc.admin_id, who)).astype(np.int64)


def _move(proc: Process, idx: I64, t: I64, new_code: npt.NDArray[np.int16]) -> None:
    """A status change: event, current fields, closing data and the next decision time."""
    leads, st = proc.leads, proc.statuses
    if idx.size == 0:
        return
    old = leads.code[idx]
    proc.out.add(t, leads.id[idx], EV_STATUS, _actor(proc, idx), before=old, after=new_code)
    leads.code[idx] = new_code
    closed = st.is_won[new_code] | st.is_lost[new_code]
    leads.closed_at[idx] = np.where(closed, t, 0)
    lost = st.is_lost[new_code]
    leads.lost_from[idx] = np.where(lost, st.pos[old], leads.lost_from[idx])
    reasons = proc.rng.integers(0, max(proc.reasons, 1), idx.size) if proc.reasons else np.full(idx.size, -1)
    leads.loss_reason[idx] = np.where(lost, reasons, -1)
    leads.next_at[idx] = t + dwell(proc.rng, st, new_code)


def _delete(proc: Process, idx: I64, t: I64) -> None:
    leads = proc.leads
    proc.out.add(t, leads.id[idx], EV_DELETED, _actor(proc, idx))
    leads.is_deleted[idx] = True
    leads.deleted_at[idx] = t
    leads.next_at[idx] = t + (4 * DAY * np.exp(proc.rng.standard_normal(idx.size))).astype(np.int64) + 60


def _deleted(proc: Process, idx: I64, t: I64) -> None:
    """From the trash a lead is restored (and lives on) or stays there for good."""
    leads = proc.leads
    restore = proc.rng.random(idx.size) < 0.35
    back, back_t = idx[restore], t[restore]
    proc.out.add(back_t, leads.id[back], EV_RESTORED, _actor(proc, back))
    leads.is_deleted[back] = False
    leads.deleted_at[back] = 0
    leads.next_at[back] = back_t + dwell(proc.rng, proc.statuses, leads.code[back])
    leads.next_at[idx[~restore]] = 0


def _closed(proc: Process, idx: I64, t: I64, *, reopen: float) -> None:
    """Won leads are occasionally moved back, lost ones reopened, a few deleted; the rest rest."""
    st = proc.statuses
    code = proc.leads.code[idx]
    pipe = st.pipe[code]
    u = proc.rng.random(idx.size)
    back = u < reopen
    lost_from = proc.leads.lost_from[idx].astype(np.int16)
    pos = np.where(st.is_lost[code], np.clip(lost_from, 1, st.working[pipe]), st.working[pipe])
    _move(proc, idx[back], t[back], st.code(pipe[back], pos[back]))
    gone = (u >= reopen) & (u < reopen + 0.012)
    _delete(proc, idx[gone], t[gone])
    proc.leads.next_at[idx[u >= reopen + 0.012]] = 0


def _probabilities(proc: Process, idx: I64) -> npt.NDArray[np.float64]:
    """Per lead, the chances of ADV, SKIP, BACK, MOVE, DELETE, WAIT, LOSE (ADV takes the rest)."""
    st = proc.statuses
    code = proc.leads.code[idx]
    pos, working = st.pos[code], st.working[st.pipe[code]]
    unsorted = pos == 0
    quality = proc.leads.quality[idx].astype(np.float64)
    p = np.zeros((idx.size, 7))
    p[:, SKIP] = np.where(pos + 2 <= working + 1, 0.05, 0.0)
    p[:, BACK] = np.where(pos >= 2, 0.27, 0.0)
    p[:, MOVE] = np.where(~unsorted & (st.working.size > 1), 0.02, 0.0)
    p[:, DELETE] = np.where(unsorted, 0.05, 0.008)
    p[:, WAIT] = 0.04
    p[:, LOSE] = np.where(unsorted, 0.06, np.clip(0.14 / quality, 0.04, 0.6))
    stalled = ((proc.leads.stall[idx] >> pos.astype(np.uint16)) & 1).astype(bool) & (st.pipe[code] == 0)
    p[:, LOSE] = np.where(stalled, np.maximum(p[:, LOSE], STALL_LOSE), p[:, LOSE])
    p[:, ADV] = np.maximum(1.0 - p.sum(axis=1), 0.05)
    normalized: npt.NDArray[np.float64] = p / p.sum(axis=1, keepdims=True)
    return normalized


def _open(proc: Process, idx: I64, t: I64) -> None:
    st, rng = proc.statuses, proc.rng
    if idx.size == 0:
        return
    cum = np.cumsum(_probabilities(proc, idx), axis=1)
    action = np.minimum((rng.random(idx.size)[:, None] >= cum).sum(axis=1), LOSE)
    code = proc.leads.code[idx]
    pipe, pos, working = st.pipe[code], st.pos[code], st.working[st.pipe[code]]
    new_pos = np.select(
        [action == ADV, action == SKIP, action == BACK, action == LOSE],
        [pos + 1, pos + 2, pos - 1, working + 2],
        pos,
    )
    stay = (action == ADV) | (action == SKIP) | (action == BACK) | (action == LOSE)
    _move(proc, idx[stay], t[stay], st.code(pipe[stay], new_pos[stay]))
    _switch_pipeline(proc, idx[action == MOVE], t[action == MOVE])
    _delete(proc, idx[action == DELETE], t[action == DELETE])
    wait = action == WAIT
    proc.leads.next_at[idx[wait]] = t[wait] + (
        40 * DAY * np.exp(0.6 * rng.standard_normal(wait.sum()))
    ).astype(np.int64)


def _switch_pipeline(proc: Process, idx: I64, t: I64) -> None:
    """Move to another pipeline's first or second working stage."""
    st, rng = proc.statuses, proc.rng
    if idx.size == 0:
        return
    count = st.working.size
    pipe = st.pipe[proc.leads.code[idx]]
    target = (pipe + rng.integers(1, count, idx.size)) % count
    pos = np.where(rng.random(idx.size) < 0.7, 1, 2)
    _move(proc, idx, t, st.code(target, pos))
