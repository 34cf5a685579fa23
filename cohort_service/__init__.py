"""cohort-service: amoCRM leads → Postgres → weekly cohorts → a pivot-ready workbook by e-mail."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("cohort-service")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"
