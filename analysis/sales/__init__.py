"""The sales side: CRM opportunities, stage history, targets and teams -> funnel, stalled deals, rep scorecards.

Modules: :mod:`~analysis.sales.inputs` (read, map, clean, quarantine), :mod:`~analysis.sales.windows` (the period, the
one before, a year ago), :mod:`~analysis.sales.funnel`, :mod:`~analysis.sales.stalled`,
:mod:`~analysis.sales.scorecard`, :mod:`~analysis.sales.run` (one run: the three CSVs) and
:mod:`~analysis.sales.generate` (a CRM sample with known truth). See docs/sales.md.
"""
