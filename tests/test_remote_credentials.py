"""The shared cache's password goes only where the user sent memo, and a server that is not Redis is one clear line.

A fake server on 127.0.0.1 records every byte memo sends and answers each read with a
fixed reply (garbage, or an HTTP error page).
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from memo.credentials import PASSWORD_ENV, REMOTE_ENV, SIGNING_KEY_ENV
from memo.remote import chosen_address, credentials_for
from memo.replies import DETAIL_CHARS, NotRedisReply, describe_failure, pipeline_reply
from tests.helpers import run_memo, write
from tests.remote_support import SIGNING_KEY

PASSWORD = "hunter2-team-password"  # nosec B105 - a test value


def commands(buffer: bytes) -> tuple[list[list[bytes]], bytes]:
    """The complete RESP commands at the start of ``buffer``, and what is left of it."""
    found = []
    while buffer.startswith(b"*") and b"\r\n" in buffer:
        head, rest = buffer.split(b"\r\n", 1)
        args = []
        for _ in range(int(head[1:])):
            if b"\r\n" not in rest:
                return found, buffer
            size, rest = rest.split(b"\r\n", 1)
            length = int(size[1:])
            if len(rest) < length + 2:
                return found, buffer
            args.append(rest[:length])
            rest = rest[length + 2 :]
        found.append(args)
        buffer = rest
    return found, buffer


HELLO_REPLY = b"%2\r\n$5\r\nproto\r\n:3\r\n$6\r\nserver\r\n$5\r\nredis\r\n"


class FakeServer:
    """A TCP server that records what it receives and answers every read with ``reply``.

    With ``answers`` it speaks enough RESP for redis-py's handshake (``HELLO``, ``CLIENT``)
    and answers each other command by name from ``answers`` (``+OK`` if not named).
    """

    def __init__(self, reply: bytes, answers: dict[bytes, bytes] | None = None) -> None:
        self.reply = reply
        self.answers = answers
        self.received = bytearray()
        self._lock = threading.Lock()
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen()
        self.port = self._socket.getsockname()[1]
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self._socket.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection: socket.socket) -> None:
        with connection:
            try:
                buffer = b""
                while data := connection.recv(65536):
                    with self._lock:
                        self.received += data
                    if self.answers is None:
                        connection.sendall(self.reply)
                        continue
                    found, buffer = commands(buffer + data)
                    for args in found:
                        name = args[0].upper()
                        connection.sendall(HELLO_REPLY if name == b"HELLO" else self.answers.get(name, b"+OK\r\n"))
            except OSError:
                return

    def sent(self) -> bytes:
        with self._lock:
            return bytes(self.received)

    def close(self) -> None:
        self._socket.close()


@pytest.fixture
def garbage_server() -> Iterator[FakeServer]:
    server = FakeServer(b"+OK\r\n")
    yield server
    server.close()


def project_naming(root: Path, url: str) -> Path:
    write(root / "pyproject.toml", f'[tool.memo]\nremote = "{url}"\n')
    write(root / "app.py", "x = 1\n")
    return root


def test_the_password_is_not_sent_to_an_address_only_the_checkouts_config_names(
    tmp_path: Path, garbage_server: FakeServer
) -> None:
    root = project_naming(tmp_path / "project", garbage_server.url)

    done = run_memo(
        "run", ".", "--dimension", "syntax", cwd=root, env={PASSWORD_ENV: PASSWORD, SIGNING_KEY_ENV: SIGNING_KEY}
    )

    assert done.returncode == 0, done.stderr
    assert garbage_server.sent(), "memo never contacted the configured server"
    assert PASSWORD.encode() not in garbage_server.sent()
    warned = [line for line in done.stderr.splitlines() if PASSWORD_ENV in line]
    assert len(warned) == 1 and "is not sent" in warned[0], done.stderr


@pytest.mark.parametrize("where", ["environment", "command line"])
def test_the_password_goes_to_an_address_the_user_gave(tmp_path: Path, garbage_server: FakeServer, where: str) -> None:
    root = project_naming(tmp_path / "project", "redis://127.0.0.1:9/0")
    env = {PASSWORD_ENV: PASSWORD, SIGNING_KEY_ENV: SIGNING_KEY}
    args = ["--remote", garbage_server.url] if where == "command line" else []
    if where == "environment":
        env[REMOTE_ENV] = garbage_server.url

    done = run_memo("run", ".", "--dimension", "syntax", *args, cwd=root, env=env)

    assert done.returncode == 0, done.stderr
    assert PASSWORD.encode() in garbage_server.sent()
    assert "is not sent" not in done.stderr


@pytest.mark.parametrize(
    "reply",
    [
        b"+OK\r\n",
        b"$5\r\nhello\r\n",
        b":1\r\n",
        b"*1\r\n$1\r\nx\r\n",
        b"HTTP/1.1 400 Bad Request\r\n\r\n",
        b"\x00\xff\r\n",
    ],
)
def test_a_server_that_does_not_speak_redis_is_one_clear_line(tmp_path: Path, reply: bytes) -> None:
    server = FakeServer(reply)
    try:
        write(tmp_path / "project/app.py", "x = 1\n")
        done = run_memo(
            "run",
            ".",
            "--dimension",
            "syntax",
            cwd=tmp_path / "project",
            env={REMOTE_ENV: server.url, SIGNING_KEY_ENV: SIGNING_KEY},
        )
    finally:
        server.close()

    assert done.returncode == 0, done.stderr
    about_remote = [line for line in done.stderr.splitlines() if "remote cache" in line]
    assert len(about_remote) == 1, done.stderr
    assert "does not answer as Redis does" in about_remote[0]
    assert "object has no attribute" not in done.stderr


@pytest.mark.parametrize(
    "answers",
    [
        {b"GETRANGE": b":5\r\n"},
        {b"GETRANGE": b"*1\r\n:7\r\n"},
        {b"GETRANGE": b"%1\r\n:7\r\n:8\r\n"},
        {b"GETRANGE": b"#t\r\n"},
    ],
    ids=["getrange-int", "getrange-array", "getrange-map", "getrange-boolean"],
)
def test_replies_no_redis_sends_turn_the_tier_off_and_fail_no_validation(
    tmp_path: Path, answers: dict[bytes, bytes]
) -> None:
    server = FakeServer(b"", answers)
    try:
        write(tmp_path / "project/a.py", "x = 1\n")
        write(tmp_path / "project/b.py", "y = 2\n")
        done = run_memo(
            "run",
            ".",
            "--dimension",
            "syntax",
            cwd=tmp_path / "project",
            env={REMOTE_ENV: server.url, SIGNING_KEY_ENV: SIGNING_KEY},
        )
    finally:
        server.close()

    assert done.returncode == 0, done.stdout + done.stderr
    about_remote = [line for line in done.stderr.splitlines() if "remote cache" in line]
    assert len(about_remote) == 1 and "does not answer as Redis does" in about_remote[0], done.stderr


@pytest.mark.parametrize("option", ["ssl_cert_reqs=none", "ssl_certfile=/home/me/.ssl/me.pem", "password=x"])
def test_a_config_address_may_not_carry_connection_options(tmp_path: Path, option: str) -> None:
    root = project_naming(tmp_path / "project", f"rediss://cache.example:6380/0?{option}")

    done = run_memo("run", ".", "--dimension", "syntax", cwd=root, env={SIGNING_KEY_ENV: SIGNING_KEY})

    assert done.returncode == 2
    assert len(done.stderr.splitlines()) == 1 and "config 'remote'" in done.stderr, done.stderr


def test_a_config_address_with_a_db_is_accepted(tmp_path: Path) -> None:
    root = project_naming(tmp_path / "project", "redis://127.0.0.1:9/0?db=3")

    done = run_memo("run", ".", "--dimension", "syntax", cwd=root)

    assert done.returncode == 0, done.stderr


def test_the_address_the_user_gave_wins_and_is_the_only_one_credentials_go_to(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="memo")
    monkeypatch.delenv(REMOTE_ENV, raising=False)
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    assert chosen_address(None, None) == (None, False)
    assert chosen_address(None, "redis://config/0") == ("redis://config/0", False)
    assert chosen_address("redis://flag/0", "redis://config/0") == ("redis://flag/0", True)
    monkeypatch.setenv(REMOTE_ENV, "redis://env/0")
    assert chosen_address(None, "redis://config/0") == ("redis://env/0", True)
    assert chosen_address("redis://flag/0", None) == ("redis://flag/0", True)
    assert credentials_for("redis://env/0", True) == PASSWORD
    assert caplog.records == []
    assert credentials_for("redis://config/0", False) is None
    (record,) = caplog.records
    assert record.getMessage() == (
        f"memo remote cache: redis://config/0 comes from the project's config only, so {PASSWORD_ENV} is not sent "
        f"to it (name the server in {REMOTE_ENV} or --remote to send it)"
    )
    monkeypatch.delenv(PASSWORD_ENV)
    assert credentials_for("redis://env/0", True) is None


def test_failures_that_are_not_about_the_reply_keep_their_own_words() -> None:
    assert describe_failure(ConnectionRefusedError(111, "refused"), "Connection refused") == (
        "ConnectionRefusedError: Connection refused"
    )
    assert describe_failure(AttributeError("'bytes' object has no attribute 'get'"), "x") == (
        "the server does not answer as Redis does"
    )
    assert describe_failure(TimeoutError(), "") == "TimeoutError: TimeoutError"
    invalid = type("InvalidResponse", (Exception,), {})
    fits = "p" * DETAIL_CHARS
    assert describe_failure(invalid(fits), fits) == f"the server does not answer as Redis does: {fits}"
    over = fits + "q"
    assert describe_failure(invalid(over), over) == (
        f"the server does not answer as Redis does: {over[: DETAIL_CHARS - 3]}..."
    )
    long = "Protocol Error: " + "x" * 200
    described = describe_failure(type("InvalidResponse", (Exception,), {})(long), long)
    assert described.startswith("the server does not answer as Redis does: Protocol Error: ")
    assert len(described) < 140 and described.endswith("...")


@pytest.mark.parametrize("reply", [5, b"OK", [b"a"], [b"a", b"b", b"c"], None, {"a": 1}])
def test_a_pipeline_reply_of_the_wrong_shape_is_refused(reply: object) -> None:
    with pytest.raises(NotRedisReply, match="a pipeline of 2 commands"):
        pipeline_reply(reply, 2)


def test_a_pipeline_reply_of_the_right_length_is_taken_as_it_is() -> None:
    assert pipeline_reply([b"a", None], 2) == [b"a", None]
    assert pipeline_reply([1, 7], 2) == [1, 7]  # each reply's type is the reader's to judge
    assert pipeline_reply([], 0) == []


def test_a_refused_reply_says_what_was_sent_and_what_came_back() -> None:
    cases = [
        (lambda: pipeline_reply(5, 2), "a pipeline of 2 commands answered with int"),
        (lambda: pipeline_reply([b"a"], 2), "a pipeline of 2 commands answered with 1 replies"),
    ]
    for call, message in cases:
        with pytest.raises(NotRedisReply) as raised:
            call()
        assert str(raised.value) == message
