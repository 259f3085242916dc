"""The `requires_*` markers: one table of kinds (probe, paths, setting, hint, doctor fix),
the probes, and the checker that skips or fails marked tests.

``kinds`` is the table (read by marker registration, the checker and ``aistack doctor``),
``options`` reads a marker's arguments into its options object, ``target`` is one
requirement made concrete, ``cloud`` holds ``requires_cloud``'s key rules and providers,
``probes`` the network checks, ``checker`` the pytest hooks.
"""
