"""The mock's request logic: routing and the generation path -> a Plan.

Transport-independent: ``Engine.handle(Request)`` returns a :class:`Plan` that the raw
asyncio server (``server.py``) or the ASGI adapter (``asgi_app.py``) executes. The
instance's state and lifecycle are :class:`MockInstance` (``instance.py``); the
endpoints that are not generation (health, metrics, model lists, admin API) are
``info.py``.
"""

from __future__ import annotations

import asyncio
import json
import time
from array import array
from collections.abc import Coroutine
from typing import Any

from .admission import WAIT
from .config import MockConfig, ProfileError, TimingProfile, parse_profile
from .faults import NO_FAULTS, FaultError, Faults, parse_faults
from .generation import (
    GENERATION_PATHS,
    OLLAMA_CHAT,
    OLLAMA_GENERATE,
    BadRequest,
    GenerationRequest,
    parse_generation,
)
from .info import ADMIN_PATHS, READ_PATHS, admin_endpoint, read_endpoint, stats_json
from .instance import MockInstance
from .limits import limit_violation
from .plan import Plan, Request
from .planning import generation_plan, retry_after_header
from .stats import ServedRequest

KNOWN_PATHS = READ_PATHS | ADMIN_PATHS | set(GENERATION_PATHS)


class Engine(MockInstance):
    def __init__(self, config: MockConfig) -> None:
        super().__init__(config)
        self._request_counter = 0
        self._profiles: dict[tuple[str | None, Any], TimingProfile] = {}

    def _on_generation_finish(self, plan: Plan, outcome: str) -> None:
        self.slots.release()

    # dispatch ------------------------------------------------------------------

    def endpoint_key(self, method: str, path: str) -> str:
        return f"{method} {path if path in KNOWN_PATHS else 'other'}"

    async def handle(self, req: Request) -> Plan:
        answer = self.dispatch(req)
        return answer if isinstance(answer, Plan) else await answer

    def dispatch(self, req: Request) -> Plan | Coroutine[Any, Any, Plan]:
        """The plan now, or a coroutine to await when the request must queue for a slot.

        Answering synchronously when possible saves the raw server a task hop per
        request: under load, a new task waited several milliseconds for its first run,
        which showed up as TTFT error.
        """
        path = req.path
        if path in GENERATION_PATHS:
            if req.method != "POST":
                plan = self.error_plan(405, f"{req.method} {path} is not allowed; use POST")
            else:
                answer = self._generate(req)
                if not isinstance(answer, Plan):
                    return self._counted(req, answer)
                plan = answer
        elif path in READ_PATHS:
            plan = (
                read_endpoint(self, path)
                if req.method in ("GET", "HEAD")
                else self.error_plan(405, f"{req.method} {path} is not allowed; use GET")
            )
        elif path.startswith("/admin/"):
            plan = admin_endpoint(self, req)
        else:
            plan = self.error_plan(404, f"no route {req.method} {path}")
        self.stats.count(self.endpoint_key(req.method, path), plan.status)
        return plan

    async def _counted(self, req: Request, pending: Coroutine[Any, Any, Plan]) -> Plan:
        plan = await pending
        self.stats.count(self.endpoint_key(req.method, req.path), plan.status)
        return plan

    def reject_oversized(self, req: Request, size: int) -> Plan:
        """A body larger than ``max_body_bytes`` (the transport may not have read it)."""
        ollama = req.path in (OLLAMA_CHAT, OLLAMA_GENERATE)
        plan = self.error_plan(
            413,
            f"request body is {size} bytes; the limit is {self.config.max_body_bytes} "
            "(--max-body-bytes)",
            ollama=ollama,
        )
        self.stats.count(self.endpoint_key(req.method, req.path), 413)
        return plan

    def stats_json(
        self,
        include_requests: bool = True,
        request_ids: list[str] | None = None,
        last: int | None = None,
    ) -> dict[str, Any]:
        """The ``GET /admin/stats`` document (docs/mock_llm.md)."""
        return stats_json(self, include_requests, request_ids, last)

    # generation ----------------------------------------------------------------

    def _generate(self, req: Request) -> Plan | Coroutine[Any, Any, Plan]:
        if "loading_refusal" in self.off and time.monotonic() < self._ready_at:
            return self._after_loading(req)
        self._request_counter += 1
        request_id = (
            req.headers.get("x-request-id") or f"mock-{self.config.name}-{self._request_counter}"
        )
        ollama = req.path in (OLLAMA_CHAT, OLLAMA_GENERATE)
        record = ServedRequest(
            request_id=request_id,
            backend=self.config.name,
            endpoint=f"{req.method} {req.path}",
            model=None,
            stream=False,
            status=0,
            outcome="in_progress",
            fault=None,
            tokens_planned=0,
            tokens_sent=0,
            received_at=req.received_at or time.time(),
        )
        self.stats.add_record(record)
        id_header = [("x-request-id", request_id)]
        from_header = "x-request-id" in req.headers

        def fail(
            status: int,
            message: str,
            param: str | None = None,
            code: Any = None,
            retry_after: float | None = None,
        ) -> Plan:
            extra = list(id_header)
            if retry_after is not None:
                extra.append(("retry-after", retry_after_header(retry_after)))
            plan = self.error_plan(status, message, param, code, ollama=ollama, extra=extra)
            record.status = status
            record.outcome = "http_error"
            plan.record = record
            plan.stats = self.stats
            return plan

        state = self.state
        if state == "draining" and "drain_refusal" in self.off:
            state = "ready"
        if state != "ready":
            self.stats.rejected[state] += 1
            text = "the model is loading" if state == "loading" else "the server is shutting down"
            if self.waiting_for_dependency:
                text = f"waiting for dependency {self.dependency.name if self.dependency else ''}"
            return fail(503, f"{text}; retry later", retry_after=self._retry_after_s)
        if len(req.body) > self.config.max_body_bytes:
            return fail(
                413,
                f"request body is {len(req.body)} bytes; the limit is "
                f"{self.config.max_body_bytes} (--max-body-bytes)",
            )
        try:
            body = json.loads(req.body)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            return fail(400, f"request body is not valid JSON: {exc}")
        body_id = body.get("mock_request_id") if isinstance(body, dict) else None
        if isinstance(body_id, str) and body_id and not from_header:
            # Gateways (LiteLLM) forward unknown body fields but not client headers.
            self.stats.rename_record(request_id, body_id)
            request_id = body_id
            id_header[0] = ("x-request-id", request_id)
        try:
            parsed = parse_generation(
                req.path,
                body,
                max_inputs=self.config.max_embedding_inputs,
                max_chars=self.config.max_embedding_chars,
            )
            violation = limit_violation(self.config, parsed, body)
            if violation is not None:
                raise violation
        except BadRequest as exc:
            return fail(exc.status, exc.message, exc.param, exc.code)
        record.model = parsed.model
        record.stream = parsed.stream
        if parsed.stream and self.config.record_token_times:
            record.token_times = array("d")
        if parsed.model not in self.config.models:
            if ollama:
                return fail(404, f"model '{parsed.model}' not found")
            return fail(
                404,
                f"The model `{parsed.model}` does not exist. Served models: "
                f"{', '.join(self.config.models)}",
                "model",
                "model_not_found",
            )
        try:
            profile = self._profile(req, parsed)
            faults = self._faults(req, parsed)
        except ProfileError as exc:
            return fail(
                400, str(exc), "x-mock-fault" if isinstance(exc, FaultError) else "x-mock-profile"
            )
        record.fault = faults.text or None
        now = time.monotonic()
        headers_at = now + faults.header_delay_s if faults.header_delay_s else 0.0
        if faults.status is not None:
            plan = fail(
                faults.status,
                faults.message or f"injected fault: status {faults.status}",
                retry_after=faults.retry_after,
            )
            plan.headers_at = headers_at
            return plan

        def admitted(rejection: str | None) -> Plan:
            if rejection is None:
                return self._planned(parsed, profile, faults, request_id, record, headers_at)
            self.stats.rejected[rejection] += 1
            if rejection == "queue_timeout":
                return fail(
                    429,
                    f"queued longer than {self.config.queue_timeout_s:g} s for one of "
                    f"{self.config.max_concurrency} slots; retry later",
                    code="queue_timeout",
                    retry_after=self._retry_after_s,
                )
            return fail(
                503,
                "the server is overloaded; retry later"
                if rejection == "shed"
                else "the server is shutting down; retry later",
                code=rejection,
                retry_after=self._retry_after_s,
            )

        def admit() -> Plan | Coroutine[Any, Any, Plan]:
            rejection = self.slots.admit_now()
            return admitted(rejection) if rejection != WAIT else queued()

        def gone() -> None:
            record.outcome = "client_disconnected"  # gone while waiting
            record.finished_at = time.time()
            self.stats.seal(record)

        async def queued() -> Plan:
            try:
                rejection = await self.slots.admit_queued()
            except asyncio.CancelledError:
                gone()
                raise
            return admitted(rejection)

        dependency = self.dependency
        if dependency is None:
            return admit()

        async def via_dependency() -> Plan:
            try:
                problem = await dependency.call()
            except asyncio.CancelledError:
                gone()
                raise
            if problem is not None:
                return fail(503, problem, code="dependency_unavailable",
                            retry_after=self._retry_after_s)  # fmt: skip
            answer = admit()
            return answer if isinstance(answer, Plan) else await answer

        return via_dependency()

    @property
    def _retry_after_s(self) -> float | None:
        return None if "retry_after" in self.off else self.config.retry_after_s

    async def _after_loading(self, req: Request) -> Plan:
        """``--disable loading_refusal``: hold the request until the model is loaded."""
        await asyncio.sleep(self._ready_at - time.monotonic())  # ok: the misbehaviour itself
        answer = self._generate(req)
        return answer if isinstance(answer, Plan) else await answer

    def _planned(
        self,
        parsed: GenerationRequest,
        profile: TimingProfile,
        faults: Faults,
        request_id: str,
        record: ServedRequest,
        headers_at: float,
    ) -> Plan:
        t0 = time.monotonic()
        plan = generation_plan(
            parsed,
            profile,
            faults,
            t0=t0,
            request_id=request_id,
            completion_id=f"mock{self._request_counter}",
            base_headers=self.base_headers,
            embedding_dim=self.config.embedding_dim,
            record=record,
        )
        plan.headers_at = max(plan.headers_at, headers_at)
        plan.record = record
        plan.stats = self.stats
        plan.on_finish = self._on_generation_finish
        record.status = plan.status
        return plan

    def _profile(self, req: Request, parsed: GenerationRequest) -> TimingProfile:
        header = req.headers.get("x-mock-profile")
        cacheable = parsed.profile is None or isinstance(parsed.profile, str)
        key = (header, parsed.profile if cacheable else None)
        if cacheable and key in self._profiles:
            return self._profiles[key]  # load tests send the same profile every time
        profile = self.config.timing
        if parsed.profile is not None:
            profile = profile.with_overrides(parse_profile(parsed.profile))
        if header:
            profile = profile.with_overrides(parse_profile(header))
        if cacheable:
            if len(self._profiles) >= 256:
                self._profiles.clear()
            self._profiles[key] = profile
        return profile

    def _faults(self, req: Request, parsed: GenerationRequest) -> Faults:
        header = req.headers.get("x-mock-fault")
        if header:
            return parse_faults(header)
        if parsed.fault is not None:
            if not isinstance(parsed.fault, str):
                raise FaultError("mock_fault must be a string in the x-mock-fault grammar")
            return parse_faults(parsed.fault)
        return self.faults.pick(req.path) or NO_FAULTS
