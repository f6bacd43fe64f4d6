"""Validators: the base class and the real validators built on real tools."""

from __future__ import annotations

from validators.base import Validator

__all__ = ["Validator"]
