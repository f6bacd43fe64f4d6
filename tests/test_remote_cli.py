"""The command line's shared cache: --remote, --remote-mode, [tool.memo] remote, cache clear --remote."""

# ruff: noqa: F811  (the redis fixtures are imported, and named as arguments)

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from memo.credentials import SIGNING_KEY_ENV, VERIFY_KEYS_ENV
from memo.remote import KEY_PREFIX
from tests.helpers import write
from tests.remote_support import SIGNING_KEY, RedisServer, redis_server, shared_redis  # noqa: F401


def memo(cwd: Path, *argv: str, secret: str | None = SIGNING_KEY, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("VALIDATION_CACHE")}
    environ.update(env)
    if secret is not None:
        environ[SIGNING_KEY_ENV] = secret
    return subprocess.run(
        [sys.executable, "-m", "memo.cli", *argv], cwd=cwd, env=environ, capture_output=True, text=True, timeout=240
    )


def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    write(root / "pyproject.toml", "[project]\nname = 'p'\n")
    for i in range(6):
        write(root / f"pkg/m{i}.py", "def f(:\n" if i == 0 else f"X{i} = {i}\n")
    return root


def results(process: subprocess.CompletedProcess[str]) -> list[tuple[Any, ...]]:
    report = json.loads(process.stdout)
    return sorted((r["file_path"], r["passed"], json.dumps(r["findings"])) for r in report["results"])


def run(root: Path, cache: str, *extra: str, **env: str) -> subprocess.CompletedProcess[str]:
    return memo(root, "run", ".", "--dimension", "syntax", "--format", "json", "--cache-dir", cache, *extra, **env)


def test_a_second_machine_reports_what_the_first_did_from_the_shared_cache(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    root = project(tmp_path)
    uncached = run(root, str(tmp_path / "none"), "--no-cache")
    first = run(root, str(tmp_path / "a"), "--remote", redis_server.url)
    second = run(root, str(tmp_path / "b"), "--remote", redis_server.url)
    assert first.returncode == second.returncode == uncached.returncode == 1, second.stderr
    assert results(first) == results(second) == results(uncached)
    assert all(r["cached"] for r in json.loads(second.stdout)["results"])
    with redis_server.client() as client:
        assert len(client.keys(KEY_PREFIX + "e:*")) == 6


def test_the_address_and_mode_come_from_the_environment_and_read_only_writes_nothing(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    root = project(tmp_path)
    done = run(
        root, str(tmp_path / "a"), VALIDATION_CACHE_REMOTE=redis_server.url, VALIDATION_CACHE_REMOTE_MODE="read-only"
    )
    assert done.returncode == 1 and len(results(done)) == 6
    with redis_server.client() as client:
        assert client.dbsize() == 0
    flagged = run(root, str(tmp_path / "b"), "--remote", redis_server.url, "--remote-mode", "read-only")
    assert flagged.returncode == 1
    with redis_server.client() as client:
        assert client.dbsize() == 0


def test_the_config_file_gives_the_address_but_never_a_password(tmp_path: Path, redis_server: RedisServer) -> None:
    root = project(tmp_path)
    (root / "pyproject.toml").write_text(f"[tool.memo]\nremote = '{redis_server.url}'\n")
    done = run(root, str(tmp_path / "a"))
    assert done.returncode == 1, done.stderr
    with redis_server.client() as client:
        assert len(client.keys(KEY_PREFIX + "e:*")) == 6
    (root / "pyproject.toml").write_text("[tool.memo]\nremote = 'redis://:hunter2@127.0.0.1:6379/0'\n")
    refused = run(root, str(tmp_path / "b"))
    assert refused.returncode == 2
    assert "must not hold a password" in refused.stderr and "hunter2" not in refused.stderr + refused.stdout


def test_without_a_key_the_run_warns_once_and_completes(tmp_path: Path, redis_server: RedisServer) -> None:
    root = project(tmp_path)
    done = run(root, str(tmp_path / "a"), "--remote", redis_server.url, secret=None)
    assert done.returncode == 1 and len(results(done)) == 6
    assert done.stderr.count(SIGNING_KEY_ENV) == 1 and done.stderr.count(VERIFY_KEYS_ENV) == 1
    with redis_server.client() as client:
        assert client.dbsize() == 0


def test_a_bad_remote_address_is_a_usage_error_without_the_password(tmp_path: Path) -> None:
    root = project(tmp_path)
    done = run(root, str(tmp_path / "a"), "--remote", "http://:hunter2@example.invalid")
    assert done.returncode == 2 and "redis://" in done.stderr and "hunter2" not in done.stderr
    assert "Traceback" not in done.stderr


def test_cache_clear_leaves_the_shared_cache_alone_unless_asked(tmp_path: Path, redis_server: RedisServer) -> None:
    root = project(tmp_path)
    assert run(root, str(tmp_path / "a"), "--remote", redis_server.url).returncode == 1
    cleared = memo(root, "cache", "clear", "--cache-dir", str(tmp_path / "a"))
    assert cleared.returncode == 0 and "removed 6 entries" in cleared.stdout
    with redis_server.client() as client:
        assert len(client.keys(KEY_PREFIX + "e:*")) == 6
    both = memo(
        root, "cache", "clear", "--cache-dir", str(tmp_path / "a"), "--remote", VALIDATION_CACHE_REMOTE=redis_server.url
    )
    assert both.returncode == 0, both.stderr
    assert "removed 6 entries from" in both.stdout
    with redis_server.client() as client:
        assert client.dbsize() == 0
