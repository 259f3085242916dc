"""Seeded defects of the reference stack: each one breaks a promise of its profile.

``benchmarks/verdict_power.py`` runs the resilience suite once per defect, on a copy of
the reference stack whose LiteLLM config (or stack file) carries it, with the profile
unchanged — so the promise stays what it was and the suite must notice it is broken.
Each defect is a list of exact text edits; an edit whose text is no longer in the file
is an error naming the defect, so the list cannot silently stop applying.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pytest_aistack.reference_stack import REFERENCE_DIR

GATEWAY_CONFIG = "gateway/litellm.yaml"  # relative to the stack file, as its config_template
STACK_FILE = "stack.yaml"


class DefectError(ValueError):
    """A defect's edit no longer matches the reference file it edits."""


@dataclass(frozen=True)
class Edit:
    old: str
    new: str
    count: int = 1  # how many times ``old`` must occur


@dataclass(frozen=True)
class Defect:
    name: str
    promise: str  # the profile's promise it breaks
    file: str  # GATEWAY_CONFIG or STACK_FILE
    edits: tuple[Edit, ...]
    # Not a defect in this LiteLLM version (the behaviour is unchanged): why. Shown in
    # the table, left out of the catch rate.
    equivalent: str = ""

    def apply(self, text: str) -> str:
        for edit in self.edits:
            found = text.count(edit.old)
            if found != edit.count:
                raise DefectError(
                    f"defect {self.name!r}: expected {edit.count} x {edit.old!r} in {self.file}, "
                    f"found {found}; update benchmarks/seeded_defects.py to the reference stack"
                )
            text = text.replace(edit.old, edit.new)
        return text


def _gateway(name: str, promise: str, *edits: Edit, equivalent: str = "") -> Defect:
    return Defect(name, promise, GATEWAY_CONFIG, edits, equivalent)


_DROP_ROUTER_REDIS = (
    Edit("  redis_host: ${proxy_host:redis}\n", ""),
    Edit("  redis_port: ${proxy_port:redis}\n", ""),
)
_STREAM_TIMEOUTS = ("      stream_timeout: 1.5\n", "  stream_timeout: 1.5\n")
_TIMEOUTS = ("      timeout: 1.5\n", "  timeout: 1.5\n")

DEFECTS: tuple[Defect, ...] = (
    _gateway(
        "allowed_fails 1 -> 4",
        "allowed_fails",
        Edit("  allowed_fails: 1\n", "  allowed_fails: 4\n"),
    ),
    _gateway(
        "allowed_fails 1 -> 0",
        "allowed_fails",
        Edit("  allowed_fails: 1\n", "  allowed_fails: 0\n"),
    ),
    _gateway(
        "stream_timeout removed", "stream_timeout_s", *(Edit(line, "") for line in _STREAM_TIMEOUTS)
    ),
    _gateway(
        "stream_timeout 1.5 -> 30",
        "stream_timeout_s",
        *(Edit(line, line.replace("1.5", "30")) for line in _STREAM_TIMEOUTS),
    ),
    _gateway("num_retries 1 -> 0", "num_retries", Edit("  num_retries: 1\n", "  num_retries: 0\n")),
    _gateway("num_retries 1 -> 3", "num_retries", Edit("  num_retries: 1\n", "  num_retries: 3\n")),
    _gateway(
        "router redis_host/redis_port removed",
        "shared router state",
        *_DROP_ROUTER_REDIS,
        equivalent=(
            "LiteLLM 1.106.2 gives the router the response cache's Redis when router_settings "
            "names none (proxy_server.py: router.update_redis_cache(cache=redis_usage_cache)); "
            "cooldown keys stay in Redis"
        ),
    ),
    _gateway(
        "router state per instance (no Redis for router or cache)",
        "shared router state",
        *_DROP_ROUTER_REDIS,
        Edit("    type: redis\n", "    type: local\n"),
    ),
    _gateway("rpm removed", "rate_limit.rpm", Edit("      rpm: 2\n", "")),
    _gateway("rpm 2 -> 20 (10x)", "rate_limit.rpm", Edit("      rpm: 2\n", "      rpm: 20\n")),
    _gateway(
        "rate-limit refusals retried (held ~60 s)",
        "rate_limit.max_hold_s",
        Edit("  model_group_retry_policy:\n    chat-limited: {RateLimitErrorRetries: 0}\n", ""),
    ),
    _gateway(
        "fallbacks removed",
        "model_groups.chat.fallbacks",
        Edit("  fallbacks:\n    - chat: [chat-fallback, cloud]\n", ""),
    ),
    _gateway(
        "fallback order swapped",
        "model_groups.chat.fallbacks",
        Edit("    - chat: [chat-fallback, cloud]\n", "    - chat: [cloud, chat-fallback]\n"),
    ),
    _gateway(
        "timeout 1.5 -> 10",
        "timeout_s",
        *(Edit(line, line.replace("1.5", "10"), count=1) for line in _TIMEOUTS),
    ),
    _gateway(
        "cooldown_time 4 -> 1", "cooldown_s", Edit("  cooldown_time: 4\n", "  cooldown_time: 1\n")
    ),
    _gateway(
        "cooldown_time 4 -> 15", "cooldown_s", Edit("  cooldown_time: 4\n", "  cooldown_time: 15\n")
    ),
    _gateway(
        "cooldowns disabled",
        "allowed_fails",
        Edit("  cooldown_time: 4\n", "  cooldown_time: 4\n  disable_cooldowns: true\n"),
    ),
    _gateway("response cache off", "cache_ttl_s", Edit("  cache: true\n", "  cache: false\n")),
    _gateway(
        "response cache in process, not Redis",
        "cache_ttl_s",
        Edit("    type: redis\n", "    type: local\n"),
    ),
    _gateway(
        "5xx exempt from the breaker",
        "allowed_fails",
        Edit(
            "  allowed_fails: 1\n",
            "  allowed_fails: 1\n  allowed_fails_policy: {InternalServerErrorAllowedFails: 1000}\n",
        ),
    ),
    Defect(
        "Redis shunned 60 s after an outage",
        "redis_recovery_s",
        STACK_FILE,
        (
            Edit(
                'REDIS_CIRCUIT_BREAKER_RECOVERY_TIMEOUT: "3"',
                'REDIS_CIRCUIT_BREAKER_RECOVERY_TIMEOUT: "60"',
            ),
        ),
    ),
    Defect(
        "cooldowns re-read from Redis every 30 s, not 1 s",
        "state_sync_s",
        STACK_FILE,
        (
            Edit(
                'DEFAULT_COOLDOWN_REDIS_READ_INTERVAL_SECONDS: "1"',
                'DEFAULT_COOLDOWN_REDIS_READ_INTERVAL_SECONDS: "30"',
            ),
        ),
    ),
    Defect(
        "backend ready but failing (vllm-b serves another model)",
        "readiness",
        STACK_FILE,
        (
            Edit(
                '"--name", "vllm-b", "--model", "mock-chat"]',
                '"--name", "vllm-b", "--model", "mock-chat-v2"]',
            ),
        ),
    ),
)


def write_stack(defect: Defect | None, dest: Path) -> Path:
    """A copy of the reference stack in ``dest`` carrying ``defect`` (None: healthy).

    Only the stack file and the gateway config are copied: the stack file's
    ``config_template`` is relative to it, so the copy renders the copied config.
    """
    (dest / "gateway").mkdir(parents=True, exist_ok=True)
    for name in (STACK_FILE, GATEWAY_CONFIG):
        text = (REFERENCE_DIR / name).read_text()
        if defect is not None and defect.file == name:
            text = defect.apply(text)
        (dest / name).write_text(text)
    return dest / STACK_FILE
