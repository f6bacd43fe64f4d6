"""A read-only job cannot plant a result for everyone, whatever code its checkout runs.

The pull-request job of the README's CI recipe holds only public keys. Code from its
checkout (a project's own validators, a tool's plugins) can read everything the job
holds; here it does its worst: it tries to sign with what the environment gives it, then
signs with a key of its own and writes straight into Redis. The main-branch job that
runs next must report the real finding.
"""

# ruff: noqa: F811  (the redis fixtures are imported, and named as arguments)

from __future__ import annotations

from pathlib import Path

import pytest

from memo import ValidationCache, ValidationResult, bind_cache, plan_call
from memo.codec import encode_entry
from memo.credentials import SECRET_ENV, SIGNING_KEY_ENV, VERIFY_KEYS_ENV
from memo.remote import KEY_PREFIX, remote_from_environment
from memo.signing import generate, signer_from_environment
from tests.helpers import counting_validator_class, write
from tests.remote_support import SIGNING_KEY, VERIFY_KEY, RedisServer, redis_server, shared_redis, signer  # noqa: F401


async def test_checkout_code_in_a_read_only_job_cannot_plant_a_result_the_main_branch_serves(
    tmp_path: Path, redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = write(tmp_path / "src" / "bad.py", "x = 1  # TODO\n")
    cls = counting_validator_class()
    with ValidationCache(tmp_path / "plan") as cache, bind_cache(cache, root=source.parent):
        plan = plan_call(cls(source, {}, source.parent), "todos")
    assert plan is not None
    passed = encode_entry(plan.key, ValidationResult("todos", True, file_path=str(source)), None)

    # The pull-request job: public keys only.
    monkeypatch.delenv(SECRET_ENV, raising=False)
    monkeypatch.delenv(SIGNING_KEY_ENV, raising=False)
    monkeypatch.setenv(VERIFY_KEYS_ENV, VERIFY_KEY)
    held = signer_from_environment()
    assert held is not None and not held.can_sign
    with pytest.raises(PermissionError):
        held.seal(plan.key, passed)
    own_key, _, _ = generate()
    with redis_server.client() as client:
        client.set(KEY_PREFIX + "e:" + plan.key, signer(own_key).seal(plan.key, passed))

    # The main-branch job.
    monkeypatch.delenv(VERIFY_KEYS_ENV)
    monkeypatch.setenv(SIGNING_KEY_ENV, SIGNING_KEY)
    tier = remote_from_environment(redis_server.url)
    assert tier is not None and tier.writable
    with ValidationCache(tmp_path / "main", remote=tier) as cache, bind_cache(cache, root=source.parent):
        result = await cls(source, {}, source.parent).validate()
        rejected = tier.counters.rejected
    assert (result.passed, result.cached, [f.code for f in result.findings]) == (False, False, ["TD001"])
    assert cls.calls == 1 and rejected >= 1
