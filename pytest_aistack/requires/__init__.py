"""The `requires_*` markers: one table of kinds (probe, paths, setting, hint, doctor fix),
the probes, and the checker that skips or fails marked tests."""
