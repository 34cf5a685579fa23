"""``first_line``: what every one-line message quotes of an exception, whatever its text."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import OperationalError

from cohort_service.errors import LockBusyError, first_line


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (ValueError(), "ValueError"),  # an empty message: doctor used to raise IndexError here
        (LockBusyError("   \n  "), "LockBusyError"),
        (RuntimeError("\n  boom  \nsecond line"), "boom"),
        (OSError(28, "No space left on device"), "[Errno 28] No space left on device"),
    ],
)
def test_first_line(exc: BaseException, expected: str) -> None:
    assert first_line(exc) == expected


def test_first_line_of_a_sqlalchemy_error_is_the_drivers_not_the_sql() -> None:
    wrapped = OperationalError("SELECT secret_sql", {}, RuntimeError("connection refused\nDETAIL: x"))
    assert "SELECT" in str(wrapped)
    assert first_line(wrapped) == "connection refused"
