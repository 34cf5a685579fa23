"""``cohort-service simulator``: generate an account and serve it on loopback until stopped.

Prints ``base_url: …`` first, then the credentials — ``token: …``, or with ``--oauth`` the
integration's ``client_id``, ``client_secret``, ``redirect_uri``, a ``refresh_token`` and an
authorization ``code`` (for ``cohort-service auth``) — then a ready ``config.toml`` whose milestone
statuses exist in this account. The account's history runs up to the moment the simulator starts,
so a report or an e-mail right after the sync shows this week. Serves until SIGTERM/SIGINT, exit 0.
"""

from __future__ import annotations

import sys

from cohort_service.simulator.api import SimulatorApp
from cohort_service.simulator.faults import FaultConfig, Limits
from cohort_service.simulator.generate import live_account
from cohort_service.simulator.server import run_forever
from cohort_service.simulator.snippet import config_snippet


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
    oauth: bool = False,
) -> None:
    account = live_account(seed=seed, leads=leads, weeks=weeks, filters_enabled=filters)
    app = SimulatorApp(
        account,
        limits=Limits(rps=rps if rps > 0 else None),
        faults=FaultConfig(
            latency_ms=latency_ms, jitter_ms=jitter_ms, error_rate=error_rate, error_statuses=(502,)
        ),
    )
    store = app.oauth
    auth: dict[str, str]
    if oauth:
        auth = {
            "client_id": store.client_id,
            "client_secret": store.client_secret,
            "redirect_uri": store.redirect_uri,
            "refresh_token": str(store.issue_pair()["refresh_token"]),
            "code": store.issue_code(),
        }
    else:
        auth = {"token": store.issue_long_lived(token=token)}

    def announce(base_url: str) -> None:
        lines = [f"base_url: {base_url}", *(f"{key}: {value}" for key, value in auth.items()), ""]
        lines.append("# config.toml for this account (its own stage names):")
        if oauth:
            lines.append(
                "# then store the tokens once: cohort-service auth --code CODE  (the code above, "
                "20 minutes) or --refresh-token TOKEN"
            )
        sys.stdout.write("\n".join(lines) + "\n" + config_snippet(account, base_url=base_url, auth=auth))
        sys.stdout.flush()

    run_forever(app, port=port, on_ready=announce)
