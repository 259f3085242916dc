"""Between resilience scenarios: when the gateway's breakers are back to normal."""

from __future__ import annotations

import time

# The gateway records a cooldown asynchronously, just after the failing request returns.
COOLDOWN_MARGIN_S = 0.5


class BreakerWindow:
    """When the gateway's breakers are back to normal after a scenario's faults.

    A deployment tripped by a scenario's last failures stays out for ``cooldown_s`` (its
    fail counter lives as long), so the next scenario waits out that window, counted
    from the end of the faults. A scenario that has itself seen every tripped deployment
    serve again calls :meth:`settled` and spares the next one the wait.
    """

    def __init__(self, cooldown_s: float) -> None:
        self.cooldown_s = cooldown_s
        self.clear_at = 0.0
        self._settled = False

    def settled(self) -> None:
        self._settled = True

    def faults_ended(self) -> None:
        if not self._settled:
            self.clear_at = time.monotonic() + self.cooldown_s + COOLDOWN_MARGIN_S
        self._settled = False

    def wait(self) -> None:
        # Waits out a duration the policy defines — not a guess at readiness.
        remaining = self.clear_at - time.monotonic()
        if remaining > 0:
            time.sleep(remaining)
