"""``aistack mock-llm``: run the mock LLM server (see docs/mock_llm.md)."""

from __future__ import annotations

import argparse
import os

from .behaviours import BEHAVIOURS

HELP = "run the mock LLM server (OpenAI + Ollama compatible, deterministic, scriptable)"
TOKEN_ENV = "AISTACK_MOCK_ADMIN_TOKEN"


def configure_parser(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    add("--port", type=int, default=0, help="port; 0 = a free one (default)")
    add("--name", default="mock-llm", help="backend name reported in stats and headers")
    add(
        "--model",
        action="append",
        dest="models",
        metavar="NAME",
        help="a model name served (repeat for several; default mock-model)",
    )
    add("--ttft-ms", type=float, default=50.0, help="time to first token (default 50)")
    add("--itl-ms", type=float, default=10.0, help="inter-token latency (default 10)")
    add("--jitter-ms", type=float, default=0.0, help="jitter spread per token (default 0)")
    add("--jitter-dist", choices=["uniform", "normal", "exponential"], default="uniform")
    add("--output-tokens", default="16", help="N, 'max' or 'uniform:A:B' (default 16)")
    add("--prefill-us-per-token", type=float, default=0.0)
    add("--seed", type=int, default=0)
    add("--max-concurrency", type=int, default=0, help="0 = unlimited (default)")
    add("--queue-depth", type=int, default=64)
    add("--queue-timeout-s", type=float, default=10.0)
    add("--retry-after-s", type=float, default=1.0)
    add("--warmup-s", type=float, default=0.0, help="'loading model' time after start")
    add("--drain-timeout-s", type=float, default=30.0)
    add("--admin-token", default=None, help=f"admin bearer token (default: ${TOKEN_ENV} or random)")
    add("--max-body-bytes", type=int, default=1024 * 1024)
    add("--embedding-dim", type=int, default=32)
    add("--max-recorded-requests", type=int, default=100_000)
    add(
        "--record-token-times",
        action="store_true",
        help="keep each content token's send time in the request records (admin stats); "
        "costs 8 bytes per token per kept record",
    )
    add(
        "--precise-timers",
        action="store_true",
        help="write each step within 0.02 ms of its deadline by spinning the last "
        "millisecond (uses a whole core while streams run; for calibration)",
    )
    add("--loop", choices=["auto", "uvloop", "asyncio"], default="auto")
    add("--max-messages", type=int, default=0, help="chat messages per request; 0 = no limit")
    add("--max-tokens-cap", type=int, default=0, help="largest max_tokens accepted; 0 = no cap")
    add("--max-embedding-inputs", type=int, default=32, help="inputs per embeddings request")
    add("--max-embedding-chars", type=int, default=10_000, help="characters per input")
    add("--dependency-url", default="", help="redis://H:P or http://H:P/PATH called per request")
    add("--dependency-name", default="", help="its name in /health and /metrics")
    add("--dependency-timeout-s", type=float, default=0.5)
    add("--breaker-failures", type=int, default=3, help="failures that open it; 0 = no breaker")
    add("--breaker-open-s", type=float, default=5.0, help="open time before half-open")
    add(
        "--disable",
        action="append",
        default=[],
        choices=sorted(BEHAVIOURS),
        metavar="BEHAVIOUR",
        help="switch a hardening behaviour off (repeatable): " + ", ".join(BEHAVIOURS),
    )


def run(args: argparse.Namespace) -> int:
    import secrets
    import sys

    from .config import MockConfig, ProfileError, TimingProfile
    from .runner import serve

    token = args.admin_token or os.environ.get(TOKEN_ENV) or secrets.token_hex(16)
    # Flag name -> profile key; validated one by one so an error names the flag.
    timing_flags = {
        "--ttft-ms": ("ttft_ms", args.ttft_ms),
        "--itl-ms": ("itl_ms", args.itl_ms),
        "--jitter-ms": ("jitter_ms", args.jitter_ms),
        "--jitter-dist": ("jitter", args.jitter_dist),
        "--output-tokens": ("output_tokens", args.output_tokens),
        "--prefill-us-per-token": ("prefill_us_per_token", args.prefill_us_per_token),
        "--seed": ("seed", args.seed),
    }
    timing = TimingProfile()
    for flag, (key, value) in timing_flags.items():
        try:
            timing = timing.with_overrides({key: value})
        except ProfileError as exc:
            print(f"aistack mock-llm: {flag}: {exc}", file=sys.stderr)
            return 2
    try:
        config = MockConfig(
            name=args.name,
            models=tuple(args.models or ["mock-model"]),
            timing=timing,
            max_concurrency=args.max_concurrency,
            queue_depth=args.queue_depth,
            queue_timeout_s=args.queue_timeout_s,
            retry_after_s=args.retry_after_s,
            warmup_s=args.warmup_s,
            drain_timeout_s=args.drain_timeout_s,
            admin_token=token,
            max_body_bytes=args.max_body_bytes,
            embedding_dim=args.embedding_dim,
            max_recorded_requests=args.max_recorded_requests,
            record_token_times=args.record_token_times,
            precise_timers=args.precise_timers,
            max_messages=args.max_messages,
            max_tokens_cap=args.max_tokens_cap,
            max_embedding_inputs=args.max_embedding_inputs,
            max_embedding_chars=args.max_embedding_chars,
            dependency_url=args.dependency_url,
            dependency_name=args.dependency_name,
            dependency_timeout_s=args.dependency_timeout_s,
            breaker_failures=args.breaker_failures,
            breaker_open_s=args.breaker_open_s,
            disabled=frozenset(args.disable),
        )
    except ValueError as exc:
        print(f"aistack mock-llm: {exc}", file=sys.stderr)
        return 2
    return serve(config, args.host, args.port, loop=args.loop)
