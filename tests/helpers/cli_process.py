"""The real entry point as a child process, for commands that run until signalled (serve, simulator).

The child gets the environment without the developer's ``COHORT_*`` settings, so a test sees only
what it passes; it is killed if still running when the block ends, so no server outlives a failed test.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def cohort_process(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[str]]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("COHORT_")} | (env or {})
    with subprocess.Popen(
        [sys.executable, "-m", "cohort_service", *args],
        cwd=cwd,
        env=clean,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        try:
            yield proc
        finally:
            if proc.poll() is None:
                proc.kill()
