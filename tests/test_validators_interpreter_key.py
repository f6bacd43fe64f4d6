"""Validators that parse with the running interpreter have it in their identity, so results never cross Pythons.

``type Alias = int`` parses under 3.12 and is a syntax error under 3.11: a result computed
under one must not be served under the other.
"""

from __future__ import annotations

import sys

import pytest

from memo import validator_identity
from memo.validators import _context
from memo.validators.complexity import ComplexityValidator
from memo.validators.security import SecurityValidator
from memo.validators.syntax import SyntaxValidator
from memo.validators.typecheck import TypesValidator

PARSING = [SecurityValidator, ComplexityValidator, SyntaxValidator, TypesValidator]


def test_the_interpreter_names_implementation_and_version() -> None:
    name, version = _context.interpreter().split(" ")
    assert name == sys.implementation.name
    assert version.startswith(f"{sys.version_info.major}.{sys.version_info.minor}.")


@pytest.mark.parametrize("cls", PARSING, ids=lambda cls: cls.dimension)
def test_another_interpreter_gives_another_identity(cls: type, monkeypatch: pytest.MonkeyPatch) -> None:
    validator = cls("a.py")
    here = validator_identity(validator)
    assert _context.interpreter() in here
    monkeypatch.setattr(_context, "interpreter", lambda: "pypy 3.10.14")
    assert validator_identity(validator) != here
