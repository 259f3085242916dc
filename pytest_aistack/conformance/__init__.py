"""The serving-stack conformance suite's library (the tests are in ``conformance/``).

Black-box checks of what a hardened inference server or embeddings service promises:
start/readiness timeline, saturation (429 / 503 + Retry-After), SIGTERM drain, input
limits, circuit breakers seen in /health and /metrics, health-ordered start. The
promises and their bounds come from the ``conformance:`` section of a profile
(:mod:`pytest_aistack.conformance.profile`, docs/conformance.md). Each check returns
the broken promises as sentences; the test asserts there are none.
"""
