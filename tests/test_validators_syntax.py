"""The syntax validator: compile errors, encodings, NUL bytes and compiler warnings become findings."""

from __future__ import annotations

import platform
import sys
from pathlib import Path

from memo import ValidationResult, validator_identity
from memo.validators import SyntaxValidator


async def check(tmp_path: Path, data: bytes) -> ValidationResult:
    path = tmp_path / "sample.py"
    path.write_bytes(data)
    return await SyntaxValidator(path).validate()


async def test_an_error_only_the_compiler_sees_is_reported(tmp_path: Path) -> None:
    result = await check(tmp_path, b"x = 1\nreturn x\n")
    assert [(f.line, f.code) for f in result.findings] == [(2, "syntax-error")]
    assert "outside function" in result.findings[0].message


async def test_indentation_error_has_its_own_code(tmp_path: Path) -> None:
    result = await check(tmp_path, b"def f():\nreturn 1\n")
    assert [(f.line, f.code) for f in result.findings] == [(2, "indentation-error")]


async def test_nul_byte_is_reported_where_it_is(tmp_path: Path) -> None:
    result = await check(tmp_path, b"x = 1\nab\x00cd\n")
    assert [(f.line, f.column, f.code) for f in result.findings] == [(2, 3, "null-bytes")]
    assert result.error is None


async def test_bytes_invalid_in_the_declared_encoding_are_an_encoding_finding(tmp_path: Path) -> None:
    result = await check(tmp_path, b"x = '\xe9'\n")
    assert [f.code for f in result.findings] == ["encoding-error"]


async def test_a_declared_latin1_file_is_valid(tmp_path: Path) -> None:
    result = await check(tmp_path, b"# -*- coding: latin-1 -*-\nx = '\xe9'\n")
    assert result.passed


async def test_a_utf8_bom_is_accepted(tmp_path: Path) -> None:
    assert (await check(tmp_path, b"\xef\xbb\xbfx = 1\n")).passed


async def test_compiler_warning_is_a_warning_finding_that_fails(tmp_path: Path) -> None:
    result = await check(tmp_path, b"x = 1\nif x is 1:\n    pass\n")
    assert [(f.line, f.code, f.severity) for f in result.findings] == [(2, "syntax-warning", "warning")]


async def test_deeply_nested_source_is_a_finding_not_a_crash(tmp_path: Path) -> None:
    result = await check(tmp_path, b"x = " + b"(" * 5000 + b")" * 5000 + b"\n")
    assert result.error is None and not result.passed
    assert len(result.findings) == 1


def test_python_implementation_and_version_are_part_of_the_identity() -> None:
    # The grammar changes between versions (and implementations), so results must not cross them.
    identity = validator_identity(SyntaxValidator("x.py"))
    assert identity.endswith(f" on {sys.implementation.name} {platform.python_version()}")
