"""The Validator base class: one file (or the whole tree), one dimension, one async check."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from memo import ValidationResult
from memo.validators._fileset import FileSet
from memo.validators._options import OptionCheck, check_table


class Validator:
    """Base class of every validator.

    Subclasses set ``dimension`` and ``version`` and implement ``async def validate(self)``,
    decorated with ``@cached_validation()`` (which reads ``dimension``). Bump ``version`` whenever the
    validator's logic changes: it is part of every cache key, so old entries stop matching.

    A result that depends on more than the file's bytes, the config and ``version`` (other
    files a rule reads, the interpreter that parses the file, a config file found near
    the file) must say so through ``cache_context()``, a method returning a short digest
    of that context; memo puts it into the key. It runs on every lookup: memoise it.

    ``file_path`` is None for project-level validators (``per_file = False``), which check
    the whole tree under ``root`` and always run uncached.
    """

    dimension: ClassVar[str] = ""
    version: ClassVar[str] = "1"
    per_file: ClassVar[bool] = True
    """False for validators that check the whole project rather than one file."""
    suffixes: ClassVar[tuple[str, ...]] = (".py",)
    """Which files this validator applies to, by suffix (per-file validators only)."""

    def __init__(
        self,
        file_path: Path | str | None,
        config: Mapping[str, Any] | None = None,
        root: Path | str | None = None,
    ) -> None:
        # One validator is built per check: reuse the caller's Path objects rather than
        # parsing the same path again for every dimension.
        self.file_path: Path | None = _as_path(file_path)
        self.config: dict[str, Any] = dict(config or {})
        self.root: Path | None = _as_path(root)

    @classmethod
    def applies_to(cls, path: Path) -> bool:
        """Whether this validator checks ``path`` (by default: by suffix)."""
        return cls.per_file and path.suffix in cls.suffixes

    @classmethod
    def file_set(cls, root: Path, config: Mapping[str, Any], candidates: Sequence[Path]) -> FileSet | None:
        """The files this validator's tool checks when run bare at ``root``, and what decides them.

        A run reports on the ``candidates`` (the files it discovered) that are in the set:
        a file the tool itself would skip is absent, not passed. None (the default, and
        whenever the tool cannot say) means every candidate ``applies_to`` accepts.
        ``config`` is the run's config, as this validator sees it.
        """
        return None

    option_checks: ClassVar[Mapping[str, OptionCheck] | None] = None
    """How each option of this validator's config table is checked, by name; None accepts any table."""

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> None:
        """Raise ``ValueError`` naming the first bad option in this validator's config table.

        Called once when a run starts, so a misspelt or mistyped option is one clear
        error rather than one failed check per file. By default it applies
        ``option_checks``; a validator that declares none accepts any table.
        """
        if cls.option_checks is not None:
            check_table(options, cls.dimension, cls.option_checks)

    def options(self) -> dict[str, Any]:
        """This validator's section of the config (``config[dimension]``), or an empty dict."""
        section = self.config.get(self.dimension, {})
        return dict(section) if isinstance(section, Mapping) else {}

    async def validate(self) -> ValidationResult:
        raise NotImplementedError(f"{type(self).__qualname__} must implement async def validate(self)")

    def __repr__(self) -> str:
        return f"{type(self).__qualname__}({self.file_path!s})"


def _as_path(path: Path | str | None) -> Path | None:
    return path if path is None or isinstance(path, Path) else Path(path)
