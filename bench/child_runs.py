"""Benchmarks that compare writers measure each in a fresh child process, so one variant's memory
peak (``ru_maxrss``) is not another's: the shared command line and the parent's side of it."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Sequence


def variant_parser(pandas_max: int) -> argparse.ArgumentParser:
    """``--rows N`` (repeatable), ``--pandas-max N`` (pandas is skipped above it, it is slow), and
    ``--child VARIANT``, the internal call that measures one variant."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, action="append")
    parser.add_argument("--pandas-max", type=int, default=pandas_max)
    parser.add_argument("--child")
    return parser


def row_counts(args: argparse.Namespace, default: Sequence[int]) -> list[int]:
    """The row counts to measure: ``--rows`` as given, else ``default``; a ``--child`` run (also one
    started by hand, without ``--rows``) measures the first."""
    return list(args.rows or default)


def measure(script: str, variant: str, count: int) -> dict[str, float]:
    """Run ``script --child VARIANT --rows COUNT``; its figures are the JSON lines it prints, merged."""
    out = subprocess.run(
        [sys.executable, script, "--child", variant, "--rows", str(count)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    result: dict[str, float] = {}
    for line in out.splitlines():
        if line.startswith("{"):
            result.update(json.loads(line))
    return result
