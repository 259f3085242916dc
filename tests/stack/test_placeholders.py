"""The placeholder grammar of stack.yaml: what is a placeholder, ``$$``, substitution."""

from __future__ import annotations

import pytest

from pytest_aistack.stack import placeholders
from pytest_aistack.stack.placeholders import MissingValue, Placeholder


def test_find_names_own_and_service_placeholders_in_order() -> None:
    text = "--host ${host} --port ${port} --up ${proxy_url:vllm-a}/v1"
    assert placeholders.find(text) == [
        Placeholder("host"),
        Placeholder("port"),
        Placeholder("proxy_url", "vllm-a"),
    ]


def test_anything_opened_by_a_lower_case_letter_is_a_placeholder() -> None:
    # So that a misspelt one is reported rather than passed on as text.
    assert placeholders.find("${admin-token} ${adminToken} ${url:no such}") == [
        Placeholder("admin-token"),
        Placeholder("adminToken"),
        Placeholder("url", "no such"),
    ]


@pytest.mark.parametrize(
    "text",
    ["$$", "$${port}", "$HOME", "${HOME}", "${...}", "price: 5$", "${port", "$ {port}"],
)
def test_escapes_and_other_dollars_are_not_placeholders(text: str) -> None:
    assert placeholders.find(text) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("--host ${host} --port ${port}", "--host 127.0.0.1 --port 0"),
        ("${url:redis}/0", "redis://127.0.0.1:7/0"),
        # $$ is a literal $: the only way to pass ${port} itself (e.g. to a shell).
        ("echo $${port} $$HOME", "echo ${port} $HOME"),
        ("$$$${port}", "$${port}"),
        # Any other $ is left as it is.
        ("$HOME ${HOME} 5$", "$HOME ${HOME} 5$"),
    ],
)
def test_substitute_fills_values_and_unescapes(text: str, expected: str) -> None:
    values = {"host": "127.0.0.1", "port": "0", "url:redis": "redis://127.0.0.1:7"}
    assert placeholders.substitute(text, values) == expected


def test_substitute_names_the_first_missing_placeholder() -> None:
    with pytest.raises(MissingValue) as caught:
        placeholders.substitute("${host}:${port:gateway}", {"host": "h"})
    assert str(caught.value.placeholder) == "${port:gateway}"


def test_allowed_lists_every_name_and_the_escape() -> None:
    text = placeholders.allowed()
    for name in placeholders.OWN_NAMES:
        assert f"${{{name}}}" in text
    for name in placeholders.SERVICE_NAMES:
        assert f"${{{name}:SERVICE}}" in text
    assert "$$ for a literal $" in text
