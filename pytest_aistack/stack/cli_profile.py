"""``aistack profile --from-litellm config.yaml``: the stack profile a LiteLLM config implies."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HELP = "derive a stack profile (aistack.yaml) from a LiteLLM proxy config"


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--from-litellm",
        metavar="CONFIG",
        type=Path,
        required=True,
        help="the LiteLLM proxy config.yaml to read (never started, secrets never resolved)",
    )
    parser.add_argument(
        "-o", "--output", metavar="FILE", type=Path, help="write the profile here (default: stdout)"
    )
    parser.add_argument(
        "--proxy-map",
        metavar="ID=PROXY",
        action="append",
        default=[],
        help="the Toxiproxy proxy in front of deployment ID (model_info.id), or of 'redis'; "
        "repeatable (default: ${proxy_url:NAME} in api_base, else the deployment id)",
    )
    parser.add_argument(
        "--model-group",
        metavar="GROUP",
        help="the group scenarios send to (gateway.model_group; default: the first model_name)",
    )


def run(args: argparse.Namespace) -> int:
    from pytest_aistack.stack.litellm.profile import derive_profile, render
    from pytest_aistack.stack.profile import ProfileError

    proxy_map: dict[str, str] = {}
    for item in args.proxy_map:
        key, sep, proxy = item.partition("=")
        if not sep or not key or not proxy:
            print(f"aistack profile: --proxy-map {item!r}: expected ID=PROXY", file=sys.stderr)
            return 2
        proxy_map[key] = proxy
    try:
        result = derive_profile(
            args.from_litellm, proxy_map=proxy_map, model_group=args.model_group
        )
    except ProfileError as exc:
        print(f"aistack profile: {exc}", file=sys.stderr)
        return 1
    text = render(result, "aistack profile --from-litellm " + str(args.from_litellm))
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.write_text(text)
        groups = result.profile.get("model_groups", {})
        chains = sum(1 for g in groups.values() if g.get("fallbacks"))
        print(
            f"aistack profile: wrote {args.output} ({len(groups)} model groups, "
            f"{len(result.profile.get('backends', {}))} deployments, {chains} fallback chain(s), "
            f"{len(result.notes)} notes)",
            file=sys.stderr,
        )
        for note in result.notes:  # on stdout they are comments of the profile already
            print(f"note: {note}", file=sys.stderr)
    for error in result.errors:
        print(f"error: {error.message}", file=sys.stderr)
    if result.errors:
        print(
            f"aistack profile: {len(result.errors)} setting(s) could not be mapped "
            "(listed above and at the top of the profile); fix them in the LiteLLM config "
            "or state those keys in the profile",
            file=sys.stderr,
        )
        return 1
    return 0
