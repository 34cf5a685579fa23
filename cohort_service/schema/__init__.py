"""The declared columns of the report's tables: each column named, typed and computed in one place.

* :mod:`kinds`: the cell vocabulary (kind → Excel number format, width, how a cell is stored).
* :mod:`leads`: the per-lead row, ``FACTS`` (what Postgres computes into ``lead_facts``) and
  ``LEADS`` (the ``Leads`` table, ``leads.csv`` and the ``lead_facts_named`` view).
"""
