"""Resilience scenarios as a product: each scenario's row of the resiliency matrix.

- ``records``: :class:`ScenarioRecord` (one row) and ``resilience.json``;
- ``breakers``: :class:`BreakerWindow`, the wait between scenarios while a tripped
  deployment cools down;
- ``table``: the matrix as a text table (``make demo`` prints it);
- ``fixtures``: the ``scenario`` and ``breakers`` fixtures and the hooks that give each
  row its verdict from the test outcome and write ``resilience.json`` at session end.
  The plugin registers it, so a user's own scenarios get the same table as ours.
"""
