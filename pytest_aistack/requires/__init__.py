"""What the `requires_*` markers need: one table of kinds (probe, paths, setting, hint,
doctor fix) and the probes. No pytest wiring: ``aistack doctor`` reads it too.

``kinds`` is the table (read by marker registration, the checker in
:mod:`pytest_aistack.plugin.requirements` and ``aistack doctor``), ``options`` reads a
marker's arguments into its options object, ``target`` is one requirement made
concrete, ``cloud`` holds ``requires_cloud``'s key rules and providers, ``probes`` the
network checks.
"""
