"""Simulator generation benchmark: time and peak memory per account size, plus serving costs.

    python bench/simulator_gen.py                      # 100k and 1M leads, each in its own process
    python bench/simulator_gen.py --sizes 20000 --weeks 52

Each size runs in a fresh interpreter so peak RSS is that size's own. Reported per size: generation
seconds, peak RSS, leads, events, status changes per lead, the time to serve list pages (first
page of a query, then a deep page from the cached selection), one ``advance(1)`` and a full pass of
the ``status_change_rows`` export.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from typing import Any

import httpx
import numpy as np


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _timed_get(client: httpx.Client, url: str) -> float:
    started = time.perf_counter()
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return (time.perf_counter() - started) * 1000


def measure(leads: int, weeks: int, seed: int) -> dict[str, Any]:
    from cohort_service.simulator import SimulatorApp, generate_account
    from cohort_service.simulator.faults import Limits
    from cohort_service.simulator.model import EV_STATUS
    from cohort_service.simulator.truth import status_change_rows

    started = time.perf_counter()
    account = generate_account(seed=seed, leads=leads, weeks=weeks)
    generate_s = time.perf_counter() - started
    generate_peak = _peak_mb()
    status = int((account.events.type == EV_STATUS).sum())
    sizes = {"leads": len(account.leads), "events": len(account.events), "status_changes": status}
    app = SimulatorApp(account, limits=Limits(rps=None))
    headers = {"Authorization": f"Bearer {app.issue_token()}"}
    with httpx.Client(
        transport=app.transport(), base_url="https://bench.amocrm.ru", headers=headers
    ) as client:
        deep = max(1, leads // 250 // 2)
        serving = {
            "leads_first_page_ms": _timed_get(client, "/api/v4/leads?limit=250&order[updated_at]=desc"),
            "leads_deep_page_ms": _timed_get(
                client, f"/api/v4/leads?limit=250&order[updated_at]=desc&page={deep}"
            ),
            "events_first_page_ms": _timed_get(
                client, "/api/v4/events?limit=100&filter[type]=lead_status_changed"
            ),
            "events_deep_page_ms": _timed_get(
                client, f"/api/v4/events?limit=100&filter[type]=lead_status_changed&page={deep}"
            ),
        }
    started = time.perf_counter()
    added = app.advance(1)
    advance_s = time.perf_counter() - started
    started = time.perf_counter()
    exported = sum(1 for _ in status_change_rows(account))
    export_s = time.perf_counter() - started
    return {
        **sizes,
        "weeks": weeks,
        "status_changes_per_lead": round(status / max(leads, 1), 2),
        "generate_s": round(generate_s, 2),
        "generate_peak_rss_mb": round(generate_peak),
        "advance_1_day_s": round(advance_s, 2),
        "advance_events": added,
        "export_status_rows_s": round(export_s, 2),
        "exported_rows": exported,
        "final_peak_rss_mb": round(_peak_mb()),
        **{k: round(v, 1) for k, v in serving.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--weeks", type=int, default=104)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(measure(args.one, args.weeks, args.seed)))
        return
    for size in (int(s) for s in args.sizes.split(",")):
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--one",
                str(size),
                "--weeks",
                str(args.weeks),
                "--seed",
                str(args.seed),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        result = json.loads(out.stdout.strip().splitlines()[-1])
        print(json.dumps(result, indent=2))
        assert np.isfinite(result["generate_s"])


if __name__ == "__main__":
    main()
