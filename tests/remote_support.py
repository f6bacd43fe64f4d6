"""A real ``redis-server`` for the shared-tier tests: started in a temporary directory, stopped after.

No mock stands in for Redis. The server listens on a unix socket (or a free loopback
port), persists nothing (``--save '' --appendonly no``) and allows ``DEBUG`` from local
connections, which the stall tests use. A missing ``redis-server`` fails the tests with
the command that installs it: CI installs it, and a skipped test proves nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from memo.lease import LeasePolicy
from memo.remote import RemoteTier
from memo.signing import Signer, signer_from_text

# A key pair for tests only (`memo cache keygen`), and another whose entries nobody accepts.
SIGNING_KEY = "memo-ed25519-private:we/GhphrnrFWBhSiWyDseWbsU1Bl84jJd9mVKpvOSXk="  # nosec B105 - test-only
VERIFY_KEY = "memo-ed25519-public:odCbfDRizl9WWbGs1p2PFOIpk+/L5+vo71Gn2JY0P/A="
ATTACKER_KEY = "memo-ed25519-private:GiCtsWpEVj/pw1TQqLH3+c009tSoz9TiVryVi3c5GQU="  # nosec B105 - test-only


def signer(signing: str = SIGNING_KEY, verify: str = "") -> Signer:
    """A signer for key text (by default the writer's: it signs, and reads its own entries)."""
    made = signer_from_text(signing, verify)
    assert made is not None
    return made


def reader() -> Signer:
    """A reader's signer: the writer's public key only."""
    return signer("", VERIFY_KEY)


def attacker() -> Signer:
    """A writer with a key no test's reader accepts."""
    return signer(ATTACKER_KEY)


START_TIMEOUT_S = 20.0


def free_port() -> int:
    """A loopback TCP port nothing listens on (just now)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """One ``redis-server`` process of our own, on a unix socket or a loopback port."""

    def __init__(self, *, tcp: bool = False, password: str | None = None) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is not installed: apt-get install -y redis-server (.ci/run does this)")
        self.directory = Path(tempfile.mkdtemp(prefix="memo-redis-"))  # short: socket paths max ~100 bytes
        self.socket = self.directory / "redis.sock"
        self.port = free_port() if tcp else 0
        self.password = password
        argv = [
            binary,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self.directory),
            "--logfile", str(self.directory / "redis.log"),
            "--enable-debug-command", "local",
        ]  # fmt: skip
        if not tcp:
            argv += ["--unixsocket", str(self.socket), "--unixsocketperm", "700"]
        if password is not None:
            argv += ["--requirepass", password]
        self.process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._wait_ready()

    @property
    def url(self) -> str:
        """The address, without the password."""
        return f"redis://127.0.0.1:{self.port}/0" if self.port else f"unix://{self.socket}"

    def client(self, **options: Any) -> redis.Redis:
        if self.port:
            return redis.Redis(host="127.0.0.1", port=self.port, password=self.password, **options)
        return redis.Redis(unix_socket_path=str(self.socket), password=self.password, **options)

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                log = (self.directory / "redis.log").read_text(errors="replace")[-2000:]
                pytest.fail(f"redis-server exited with {self.process.returncode}: {log}")
            with contextlib.suppress(redis.RedisError, OSError), self.client(socket_timeout=1) as probe:
                if probe.ping():
                    return
            time.sleep(0.02)
        self.stop()
        pytest.fail("redis-server did not start in time")

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL, as a crash or an OOM killer would."""
        if self.alive():
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.alive():
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
        shutil.rmtree(self.directory, ignore_errors=True)


@pytest.fixture(scope="session")
def shared_redis() -> Iterator[RedisServer]:
    """One server for the tests that leave it running; each test flushes it first (``redis``)."""
    server = RedisServer()
    yield server
    server.stop()


@pytest.fixture
def redis_server(shared_redis: RedisServer) -> RedisServer:
    """The session's server, emptied."""
    if not shared_redis.alive():
        pytest.fail("the shared redis-server died")
    with shared_redis.client() as client:
        client.flushall()
    return shared_redis


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    """A server for this test alone, for tests that kill, stall or restart it."""
    server = RedisServer()
    yield server
    server.kill()
    server.stop()


def make_tier(url: str, *, keys: Signer | None = None, **options: Any) -> RemoteTier:
    """A tier with short bounds, as a test wants them; by default it holds the writer's key."""
    options.setdefault("connect_timeout", 2.0)
    options.setdefault("op_timeout", 2.0)
    options.setdefault("lease", LeasePolicy(ttl_ms=5_000, wait_s=30.0))
    return RemoteTier(url, keys or signer(), **options)


def command_calls(server: RedisServer, command: str) -> int:
    """How many times the server has run ``command`` since it started (INFO commandstats)."""
    with server.client() as client:
        stats = client.info("commandstats")
    entry = stats.get(f"cmdstat_{command}")
    return 0 if entry is None else int(entry["calls"])


async def gather_all(*coros: Any) -> list[Any]:
    return list(await asyncio.gather(*coros))
