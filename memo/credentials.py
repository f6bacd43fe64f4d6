"""Which environment variables hold memo's credentials, and keeping them from code memo did not write.

Three kinds of secret reach memo through the environment:

- writer keys, with which a job can make shared entries others accept:
  ``VALIDATION_CACHE_SIGNING_KEY`` (an Ed25519 private key) and the older
  ``VALIDATION_CACHE_SECRET`` (an HMAC secret, which verifies and signs alike);
- the shared server's password, ``VALIDATION_CACHE_REMOTE_PASSWORD``, and its address
  ``VALIDATION_CACHE_REMOTE``, which may carry a password too.

No tool memo starts needs any of them, so every tool process gets the environment
without them (``tool_environment``): a tool that runs the checkout's code because its
config asks for it (a mypy plugin, a ``python_executable``) finds nothing to steal. The
process that imports the project's own validators drops the writer keys first
(``drop_writer_keys``) unless the user said to keep them too.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

SIGNING_KEY_ENV = "VALIDATION_CACHE_SIGNING_KEY"
"""A writer's private key: whoever holds it can write entries every reader accepts."""
VERIFY_KEYS_ENV = "VALIDATION_CACHE_VERIFY_KEYS"
"""The public keys a reader accepts entries from (several while keys rotate)."""
SECRET_ENV = "VALIDATION_CACHE_SECRET"  # nosec B105 - the name of an environment variable, not a secret
"""The retired HMAC secret: no longer read; when set, a warning names the variables above."""
LOCAL_KEY_ENV = "VALIDATION_CACHE_LOCAL_KEY"
"""The key local entries are sealed under, when set (else a per-user key file)."""
PASSWORD_ENV = "VALIDATION_CACHE_REMOTE_PASSWORD"  # nosec B105 - the name of an environment variable
REMOTE_ENV = "VALIDATION_CACHE_REMOTE"

WRITER_KEY_ENVS = (SIGNING_KEY_ENV, SECRET_ENV)
"""Variables whose value lets a job write shared entries that others accept."""

CREDENTIAL_ENVS = (*WRITER_KEY_ENVS, LOCAL_KEY_ENV, PASSWORD_ENV, REMOTE_ENV)
"""Every variable a tool process is started without (the local key would let it seal local entries)."""


def tool_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """``environ`` (default: this process's) without memo's credentials: what a tool process gets."""
    source = os.environ if environ is None else environ
    return {name: value for name, value in source.items() if name not in CREDENTIAL_ENVS}


def drop_writer_keys() -> tuple[str, ...]:
    """Remove the writer keys from this process's environment; the names that were set."""
    return tuple(name for name in WRITER_KEY_ENVS if os.environ.pop(name, None) is not None)
