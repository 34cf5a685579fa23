"""The real entry point as a child process: to completion, or until signalled (serve, simulator).

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


def clean_env(env: dict[str, str] | None = None) -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("COHORT_")} | (env or {})


def cohort_run(*args: str, cwd: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    """``python -m cohort_service ARGS`` to its end; the caller checks the exit code."""
    return subprocess.run(
        [sys.executable, "-m", "cohort_service", *args],
        cwd=cwd,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@contextmanager
def cohort_process(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[str]]:
    with subprocess.Popen(
        [sys.executable, "-m", "cohort_service", *args],
        cwd=cwd,
        env=clean_env(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        try:
            yield proc
        finally:
            if proc.poll() is None:
                proc.kill()
