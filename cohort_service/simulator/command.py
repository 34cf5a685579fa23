"""``cohort-service simulator``: generate an account and serve it on loopback until stopped.

Prints exactly two lines — ``base_url: …`` and ``token: …`` — so a config or a script can point at
it, then serves until SIGTERM/SIGINT and returns (exit 0).
"""

from __future__ import annotations

import sys

from cohort_service.simulator.api import SimulatorApp
from cohort_service.simulator.faults import FaultConfig, Limits
from cohort_service.simulator.generate import generate_account
from cohort_service.simulator.server import run_forever


def run_simulator(
    *,
    port: int,
    leads: int,
    weeks: int,
    seed: int,
    rps: float,
    latency_ms: float,
    filters: bool,
    jitter_ms: float = 0.0,
    error_rate: float = 0.0,
    token: str | None = None,
) -> None:
    account = generate_account(seed=seed, leads=leads, weeks=weeks, filters_enabled=filters)
    app = SimulatorApp(
        account,
        limits=Limits(rps=rps if rps > 0 else None),
        faults=FaultConfig(
            latency_ms=latency_ms, jitter_ms=jitter_ms, error_rate=error_rate, error_statuses=(502,)
        ),
    )
    issued = app.oauth.issue_long_lived(token=token)

    def announce(base_url: str) -> None:
        sys.stdout.write(f"base_url: {base_url}\ntoken: {issued}\n")
        sys.stdout.flush()

    run_forever(app, port=port, on_ready=announce)
