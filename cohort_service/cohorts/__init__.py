"""The cohort engine: stored amoCRM history → per-lead facts as of A → weekly cohort tables.

DESIGN §5 is the contract; docs/metrics.md records every choice it left open.

* ``milestones``, ``dimensions``: config resolved against the synced catalog (``catalog``).
* ``facts`` (+ ``facts_sql``): per-lead facts computed in Postgres, streamed into one DataFrame.
* ``store``: the same facts kept for BI tools (``lead_facts``, ``lead_facts_named``).
* ``labels``, ``build``, ``maturation``, ``slices``, ``quality``: pure functions over the facts.
* ``model``: ``CohortReport``, what the CSV, the workbook and the e-mail render.

``cohort_service.app.report.build_cohort_report`` runs all of it against a database.
"""
