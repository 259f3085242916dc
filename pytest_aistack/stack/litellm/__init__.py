"""Reading a LiteLLM proxy config: the profile it implies (``aistack profile --from-litellm``).

- ``reader``: findings (errors with a profile target, notes) while reading a config;
- ``rules``: how LiteLLM 1.106.2 (the pinned gateway) fills what a config leaves out;
- ``policy``: the breaker, retries, timeouts, rate limits, cache and Redis it implies;
- ``fallbacks``: the fallback chain of each model group, as LiteLLM walks them;
- ``profile``: all of it as a stack profile (``aistack.yaml``).
"""
