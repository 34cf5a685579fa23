"""Alembic migration scripts (shipped inside the package as ``cohort_service._migrations``)."""
