"""The lines ``pytest_report_header`` prints: resolved settings and where they came from."""

from __future__ import annotations

from pytest_aistack.chaos.engine import describe_chaos_engine
from pytest_aistack.requires.probes import mask_url
from pytest_aistack.settings import Resolved


def header_lines(resolved: Resolved) -> list[str]:
    s = resolved.settings
    lines = [
        f"aistack: backend={s.backend} strict={s.strict} probe_timeout={s.probe_timeout:g}s "
        f"profile={s.profile or '-'} stack_file={s.stack_file or '-'} keep_up={s.keep_up} "
        f"report_dir={s.report_dir}",
        f"aistack targets: vllm={s.vllm_url} ollama={s.ollama_url} "
        f"llamacpp={s.llamacpp_url} gateway={s.gateway_url} redis={mask_url(s.redis_url)}",
        f"aistack cloud: keys={s.cloud_key_env} base_url={s.cloud_base_url} "
        f"probe_cloud={s.probe_cloud}",
    ]
    engine = describe_chaos_engine(s).removeprefix("chaos engine: ")
    lines.append(
        f"aistack chaos: engine={s.chaos_engine} toxiproxy_bin={s.toxiproxy_bin or '-'} -> {engine}"
    )
    if resolved.origins:
        origins = ", ".join(f"{name} ({source.label})" for name, source in resolved.origins.items())
        lines.append(f"aistack set by: {origins}")
    return lines
