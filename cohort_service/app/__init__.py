"""The use cases, one module per command: what the CLI and the scheduler call.

* ``report``: settings → database → (run lock) facts → (no lock) cohort tables → CSV / workbook.
* ``outputs``: the report as of a moment, its workbook on disk and the e-mail's headline.
* ``send``: sync, then the last complete week's report by e-mail, once per week and recipient.
* ``scheduler``: ``serve``, the periodic sync and the weekly send.
* ``demo``: the whole path against a simulated account.
* ``doctor``: each external dependency checked, with a fix for each failure.

The stages below (``sync``, ``cohorts``, ``export``, ``delivery``) never import from here.
"""
