"""The delivery tests' SMTP server, shared with the scheduler's tests."""

from tests.delivery.conftest import start_smtp

__all__ = ["start_smtp"]
