"""Fallback chains of a LiteLLM config, one per model group, as LiteLLM 1.106.2 walks them.

- ``router_settings.fallbacks``, else ``litellm_settings.fallbacks``
  (Router.__init__: ``fallbacks or litellm.fallbacks``; they are not merged);
- ``default_fallbacks`` (router_settings, else litellm_settings) become the chain of every
  group without its own, as does a ``"*"`` entry (Router.__init__ appends
  ``{"*": default_fallbacks}``; get_fallback_model_group takes a group's own entry first,
  the generic one only when there is none);
- a group's first entry wins; a target equal to the failed group and a target already
  tried are skipped (run_async_fallback);
- ``max_fallbacks: 0`` disables fallbacks (run_async_fallback's base case). A longer chain
  than ``max_fallbacks`` is still walked to its end: the depth limits only the chains of
  the fallback groups themselves.

``context_window_fallbacks`` and ``content_policy_fallbacks`` apply only to those two
errors, which no fault produces; they are reported as notes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pytest_aistack.stack.litellm.reader import ConfigReader, Where

GENERIC = "*"


def derive_fallbacks(
    c: ConfigReader, router: dict[str, Any], settings: dict[str, Any], groups: list[str]
) -> dict[str, list[str]]:
    source, entries = _pick(c, router, settings, "fallbacks")
    own: dict[str, list[str]] = {}
    generic: list[str] | None = None
    for i, entry in enumerate(entries):
        where = (*source, "fallbacks", str(i))
        if not isinstance(entry, dict) or len(entry) != 1:
            # Router.validate_fallbacks refuses these at start-up.
            c.fail(
                ("model_groups",),
                where,
                entry,
                "expected a mapping with one key, {GROUP: [FALLBACK, ...]}",
            )
            continue
        ((key, targets),) = entry.items()
        chain = _targets(c, (*where, str(key)), targets, groups)
        if key == GENERIC:
            generic = chain
        elif key not in groups:
            c.fail(
                ("model_groups",),
                (*where, str(key)),
                key,
                f"no model_list entry has model_name {key!r}; use one of: {', '.join(groups)}",
            )
        elif key in own:
            c.note(f"{'.'.join(where)}: a second chain for {key!r}; LiteLLM uses the first")
        elif chain is not None:
            own[key] = chain
    default_source, default = _pick(c, router, settings, "default_fallbacks")
    if default:
        generic = _targets(c, (*default_source, "default_fallbacks"), default, groups)

    max_fallbacks = router.get("max_fallbacks", settings.get("max_fallbacks"))
    if max_fallbacks == 0:
        if own or generic:
            c.note("max_fallbacks: 0: LiteLLM tries no fallback, so no chain is promised")
        return {}
    chains: dict[str, list[str]] = {}
    for group in groups:
        chain = own.get(group, generic) or []
        walked: list[str] = []
        for target in chain:
            if target == group or target in walked:
                c.note(f"model_groups.{group}.fallbacks: {target!r} left out, LiteLLM skips it")
            else:
                walked.append(target)
        if walked:
            chains[group] = walked
    for kind in ("context_window_fallbacks", "content_policy_fallbacks"):
        kind_source, kind_entries = _pick(c, router, settings, kind)
        if kind_entries:
            c.note(
                f"{'.'.join((*kind_source, kind))} ({len(kind_entries)} "
                f"{'chain' if len(kind_entries) == 1 else 'chains'}): not checked by "
                "any scenario (they apply only to context-window or content-policy errors)"
            )
    return chains


def _pick(
    c: ConfigReader, router: dict[str, Any], settings: dict[str, Any], key: str
) -> tuple[Where, list[Any]]:
    """The router's list when it has one, else litellm_settings' (``a or b``)."""
    from_router, from_settings = router.get(key) or [], settings.get(key) or []
    for where, value in (
        (("router_settings",), from_router),
        (("litellm_settings",), from_settings),
    ):
        if not isinstance(value, list):
            c.fail(("model_groups",), (*where, key), value, "expected a list")
    if from_router and from_settings:
        c.note(
            f"litellm_settings.{key}: ignored, LiteLLM uses router_settings.{key} when both are set"
        )
    if isinstance(from_router, list) and from_router:
        return ("router_settings",), from_router
    if isinstance(from_settings, list):
        return ("litellm_settings",), from_settings
    return ("litellm_settings",), []


def _targets(c: ConfigReader, where: Where, targets: object, groups: list[str]) -> list[str] | None:
    if not isinstance(targets, list) or not all(isinstance(t, str) for t in targets):
        # A plain string would be walked letter by letter; a mapping target carries request
        # parameters the profile cannot state.
        c.fail(
            ("model_groups",),
            where,
            targets,
            "expected a list of model group names; write [GROUP, ...] (a target with its own "
            "parameters cannot be stated in the profile)",
        )
        return None
    unknown = [t for t in targets if t not in groups]
    if unknown:
        c.fail(
            ("model_groups",),
            where,
            targets,
            f"no model_list entry has model_name {', '.join(map(repr, unknown))}; "
            f"use one of: {', '.join(groups)}",
        )
        return [t for t in targets if t in groups]
    return list(targets)
