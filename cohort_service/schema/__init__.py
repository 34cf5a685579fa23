"""The report's columns, each declared once: name, how it is computed, kind, and where it appears.

* :mod:`kinds`: the one cell vocabulary (kind → Excel number format, width, how a cell is stored).
* :mod:`leads`: the per-lead row. ``FACTS``: what Postgres computes into ``lead_facts`` and the facts
  frame (the facts SQL's INSERT/SELECT/COPY lists and the pandas dtypes come from it). ``LEADS``:
  the ``Leads`` table of the workbook, ``leads.csv``, the ``lead_facts_named`` view and the pivot's
  fields, in that order.
* :mod:`cohorts`: the ``Cohorts`` table (``report.cohorts``, ``cohorts.csv``, the sheet): order,
  kind, header comment, About line, colour rule.

How to add a **Leads column** (shown in the workbook, leads.csv and the BI view):

1. Append a :class:`~cohort_service.schema.leads.LeadColumn` to ``LEADS`` where it should appear:
   ``LeadColumn("age days", "days", value, view)``. ``value`` is a column of the facts frame
   (converted for its kind) or ``f(facts, slot) -> Series``; ``view`` is the SQL expression over
   ``lead_facts f`` (catalog joins and ``lead_facts_meta m`` available). Give it a ``pivot`` role
   if the PivotTable should offer it. That is all when it derives from existing facts.
2. Only if it needs a new per-lead fact that Postgres must compute: add a
   :class:`~cohort_service.schema.leads.Fact` to ``FACTS`` (its SELECT expression over CTE ``y``
   of :mod:`cohort_service.cohorts.facts_sql`, and its dtype), the column in ``db/models.py``'s
   ``lead_facts`` and an Alembic migration adding it. A fact filled by a later Python step (money's
   ``cost``) needs no Fact: the step adds the frame column, and the LeadColumn reads it.
3. A name used in code goes in :mod:`cohort_service.cohorts.columns`.

How to add a **Cohorts column**:

1. Add a :class:`~cohort_service.schema.cohorts.CohortColumn` to ``COHORTS`` where it should
   appear: name (a string, or a function of the slot for per-milestone/final/age columns), kind,
   ``note`` (the header comment: what it means and when it is blank), ``about``, ``colour``
   (``"heat"`` or ``"sign"``), and ``step``: the name of the step that fills it.
2. In that step, compute the column into ``report.cohorts`` and call
   :func:`~cohort_service.schema.cohorts.arrange` so the table keeps the declared order.
   ``"counts"`` columns are computed by :func:`cohort_service.cohorts.build.cohort_table`.

The sheets, the CSV and the e-mail then format it by its kind; nothing else lists columns.
"""
