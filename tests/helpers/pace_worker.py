"""A separate process that reads one account through the real client stack (two-process tests).

Usage: ``python -m tests.helpers.pace_worker BASE_URL TOKEN DB_URL NAME COUNT RPS``. It builds its
client (limiter + the account's shared budget in DB_URL), prints ``ready``, waits for a line on
stdin, then makes COUNT requests tagged ``worker=NAME`` and prints ``done <429s seen>``.
"""

from __future__ import annotations

import sys

from cohort_service.amocrm.client import build_client
from cohort_service.config import settings_from_mapping
from cohort_service.db.engine import get_engine


def main() -> None:
    base_url, token, db_url, name, count, rps = sys.argv[1:7]
    settings = settings_from_mapping(
        {
            "amocrm": {"base_url": base_url, "token": token, "requests_per_second": float(rps)},
            "database": {"url": db_url},
        },
        source="worker",
        env={},
    )
    client = build_client(settings, engine=get_engine(settings))
    print("ready", flush=True)
    sys.stdin.readline()
    for _ in range(int(count)):
        client.get(f"/api/v4/leads/loss_reasons?limit=250&worker={name}")
    print("done", client.stats.snapshot().rate_limited, flush=True)
    client.close()


if __name__ == "__main__":
    main()
