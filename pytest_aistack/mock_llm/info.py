"""The endpoints that are not generation: health, metrics, model lists, admin API."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time
import urllib.parse
from typing import Any

from .faults import FaultError
from .instance import MockInstance
from .plan import Plan, Request

READ_PATHS = {"/healthz", "/readyz", "/health", "/metrics", "/v1/models", "/api/tags"}
ADMIN_PATHS = {"/admin/stats", "/admin/faults", "/admin/reset"}
MODEL_CREATED = 1_700_000_000  # a fixed "created" so /v1/models is byte-for-byte stable


def read_endpoint(instance: MockInstance, path: str) -> Plan:
    state = instance.state
    off = instance.off
    if path == "/healthz":
        if "liveness" in off and state != "ready":
            return instance.json_plan(503, {"status": state})
        return instance.json_plan(200, {"status": "ok"})
    if path == "/readyz":
        ready = state == "ready" or "readiness" in off
        return instance.json_plan(200 if ready else 503, {"status": state})
    breakers = instance.dependency.health_json() if instance.dependency is not None else None
    if path == "/health":
        # llama.cpp server: 200 {"status":"ok"}, 503 "Loading model" while loading.
        body: dict[str, Any]
        if state == "ready":
            body = {"status": "ok"}
        else:
            message = "Loading model" if state == "loading" else "Shutting down"
            body = {"error": {"code": 503, "message": message, "type": "unavailable_error"}}
        if breakers is not None:
            body["circuit_breakers"] = breakers
        return instance.json_plan(200 if state == "ready" else 503, body)
    if path == "/metrics":
        text = instance.stats.prometheus(instance.in_flight, instance.queued)
        if instance.dependency is not None:
            text += instance.dependency.prometheus()
        headers = [("content-type", "text/plain; version=0.0.4"), *instance.base_headers]
        return Plan(200, headers, body=text.encode())
    if path == "/v1/models":
        data = [
            {
                "id": model,
                "object": "model",
                "created": MODEL_CREATED,
                "owned_by": instance.config.name,
                "root": model,
                "parent": None,
                "max_model_len": instance.config.max_model_len,
            }
            for model in instance.config.models
        ]
        return instance.json_plan(200, {"object": "list", "data": data})
    # /api/tags (ollama api/types.go ListModelResponse)
    models = [
        {
            "name": model,
            "model": model,
            "modified_at": "2024-01-01T00:00:00Z",
            "size": 1_000_000,
            "digest": _digest(model),
            "details": {
                "parent_model": "",
                "format": "gguf",
                "family": "mock",
                "families": ["mock"],
                "parameter_size": "0B",
                "quantization_level": "F16",
            },
        }
        for model in instance.config.models
    ]
    return instance.json_plan(200, {"models": models})


def admin_endpoint(instance: MockInstance, req: Request) -> Plan:
    auth = req.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        token.strip().encode(), instance.admin_token.encode()
    ):
        return instance.error_plan(
            401,
            "missing or wrong admin token: send 'Authorization: Bearer <token>' with the "
            "token from --admin-token, AISTACK_MOCK_ADMIN_TOKEN or the readiness line",
            code="invalid_admin_token",
        )
    route = (req.method, req.path)
    if route == ("GET", "/admin/stats"):
        return instance.json_plan(200, stats_json(instance, **_stats_query(req.query)))
    if route == ("GET", "/admin/faults"):
        return instance.json_plan(200, {"faults": instance.faults.as_json()})
    if route == ("POST", "/admin/faults"):
        try:
            body = json.loads(req.body or b"null")
            fault = instance.faults.add(body)
        except json.JSONDecodeError as exc:
            return instance.error_plan(400, f"POST /admin/faults: body is not JSON ({exc})")
        except FaultError as exc:
            return instance.error_plan(400, str(exc), param="fault")
        return instance.json_plan(200, fault.as_json())
    if route == ("POST", "/admin/reset"):
        instance.faults.clear()
        instance.stats.reset()
        instance.lateness.reset()
        return instance.json_plan(200, {"reset": True})
    if req.path in ADMIN_PATHS:
        return instance.error_plan(405, f"{req.method} {req.path} is not allowed")
    return instance.error_plan(404, f"no admin route {req.method} {req.path}")


def _stats_query(query: str) -> dict[str, Any]:
    params = urllib.parse.parse_qs(query)
    last = params.get("last", [""])[-1]
    return {
        "include_requests": params.get("requests", ["1"])[-1] != "0",
        "request_ids": params.get("request_id"),
        "last": int(last) if last.isdigit() else None,
    }


def stats_json(
    instance: MockInstance,
    include_requests: bool = True,
    request_ids: list[str] | None = None,
    last: int | None = None,
) -> dict[str, Any]:
    stats = instance.stats
    active = stats.active_streams()
    result: dict[str, Any] = {
        "name": instance.config.name,
        "models": list(instance.config.models),
        "pid": os.getpid(),
        "state": instance.state,
        "uptime_s": round(time.time() - stats.started_at, 3),
        "requests_total": stats.requests_total,
        "endpoints": stats.endpoints_json(),
        "tokens_sent": stats.tokens_sent,
        "in_flight": instance.in_flight,
        "active_streams": active,
        "queued": instance.queued,
        "rejected": dict(stats.rejected),
        "faults": instance.faults.as_json(),
        "timer_lateness": instance.lateness.as_json(),
    }
    if include_requests:
        result["requests"] = stats.records_json(request_ids, last)
    result["requests_dropped"] = stats.dropped
    return result


def _digest(model: str) -> str:
    return hashlib.sha256(model.encode()).hexdigest()
