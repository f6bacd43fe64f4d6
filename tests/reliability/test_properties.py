"""Properties (hypothesis): config hashes are canonical, keys change with every part, results round-trip."""

from __future__ import annotations

import random
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from memo import Finding, ValidationResult, config_hash, derive_key, hash_bytes
from memo.codec import decode_entry, encode_entry
from memo.keys import KeyParts

PROFILE = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_leaves = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text()
configs = st.dictionaries(
    st.text(),
    st.recursive(
        json_leaves,
        lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
        max_leaves=12,
    ),
    max_size=6,
)


def _shuffled(value: Any, rng: random.Random) -> Any:
    """The same config with every mapping's keys inserted in another order."""
    if isinstance(value, dict):
        items = list(value.items())
        rng.shuffle(items)
        return {key: _shuffled(item, rng) for key, item in items}
    if isinstance(value, list):
        return [_shuffled(item, rng) for item in value]
    return value


@PROFILE
@given(configs, st.randoms())
def test_the_config_hash_ignores_key_order(config: dict[str, Any], rng: random.Random) -> None:
    assert config_hash(_shuffled(config, rng)) == config_hash(config)


def _leaf_paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(value, dict) and value:
        return [path for key, item in value.items() for path in _leaf_paths(item, (*prefix, key))]
    if isinstance(value, list) and value:
        return [path for index, item in enumerate(value) for path in _leaf_paths(item, (*prefix, index))]
    return [prefix]


def _replaced(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, head: _replaced(value[head], rest, new)}
    return [_replaced(item, rest, new) if index == head else item for index, item in enumerate(value)]


def _differs(old: Any, new: Any) -> bool:
    """Whether two JSON leaves are different values (1 and 1.0 and True are told apart)."""
    return type(old) is not type(new) or old != new


@PROFILE
@given(configs.filter(bool), st.data())
def test_the_config_hash_changes_when_any_value_changes(config: dict[str, Any], data: st.DataObject) -> None:
    path = data.draw(st.sampled_from(_leaf_paths(config)))
    old = config
    for part in path:
        old = old[part]
    new = data.draw(json_leaves.filter(lambda leaf: _differs(old, leaf)))
    assert config_hash(_replaced(config, path, new)) != config_hash(config)


parts = st.builds(
    KeyParts,
    path=st.text(min_size=1),
    content=st.binary().map(hash_bytes),
    config=st.text(alphabet="0123456789abcdef", min_size=32, max_size=32),
    dimension=st.text(min_size=1),
    validator=st.text(min_size=1),
    schema=st.integers(min_value=1, max_value=1000),
)


@PROFILE
@given(parts, st.binary(), st.binary())
def test_the_key_changes_with_the_file_bytes(key_parts: KeyParts, one: bytes, other: bytes) -> None:
    first = derive_key(KeyParts(**{**key_parts.to_dict(), "content": hash_bytes(one)}))
    second = derive_key(KeyParts(**{**key_parts.to_dict(), "content": hash_bytes(other)}))
    assert (first == second) == (one == other)


@PROFILE
@given(parts, st.sampled_from(["path", "dimension", "validator", "schema", "config"]), st.data())
def test_the_key_changes_with_every_other_part(key_parts: KeyParts, field: str, data: st.DataObject) -> None:
    current = getattr(key_parts, field)
    if field == "schema":
        new: Any = data.draw(st.integers(min_value=1, max_value=1000).filter(lambda s: s != current))
    else:
        new = data.draw(st.text(min_size=1).filter(lambda s: s != current))
    changed = KeyParts(**{**key_parts.to_dict(), field: new})
    assert derive_key(changed) != derive_key(key_parts)


texts = st.text(alphabet=st.characters(exclude_categories=("Cs",)))  # lone surrogates have no UTF-8 form
findings = st.builds(
    Finding,
    path=texts,
    line=st.integers(min_value=0, max_value=2**53),
    column=st.integers(min_value=0, max_value=2**31),
    code=texts,
    message=texts,
    severity=st.sampled_from(["error", "warning", "info"]),
)
results = st.builds(
    ValidationResult,
    dimension=texts,
    passed=st.booleans(),
    findings=st.lists(findings, max_size=8),
    file_path=st.none() | texts,
    error=st.none() | texts,
    duration_s=st.floats(min_value=0, allow_nan=False, allow_infinity=False),
    cached=st.just(False),
)


@PROFILE
@given(results, st.none() | st.floats(min_value=1, max_value=4e9))
def test_every_result_round_trips_exactly_through_the_stored_form(result: ValidationResult, expires: Any) -> None:
    data = encode_entry("k", result, expires)
    back = decode_entry("k", data, result.file_path, now=0.0)
    assert back is not None
    assert back.to_dict() == {**result.to_dict(), "cached": True}
    assert back.findings == result.findings


@PROFILE
@given(results)
def test_every_result_round_trips_exactly_through_its_dict(result: ValidationResult) -> None:
    assert ValidationResult.from_dict(result.to_dict()) == result


@PROFILE
@given(results, texts)
def test_findings_of_the_file_follow_it_to_a_new_path(result: ValidationResult, moved: str) -> None:
    own = result.file_path
    back = decode_entry("k", encode_entry("k", result, None), moved, now=0.0)
    assert back is not None
    assert [f.path for f in back.findings] == [moved if f.path == own else f.path for f in result.findings]
