"""``serve-ssh``: public keys with roles, a PTY per session, resizes, refusals."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import asyncssh
import pytest

from alphapt_tui.ssh_options import SshOptions
from alphapt_tui.ssh_server import start_server
from engine.auth.remote import SessionSigner
from engine.auth.signing import load_or_create_secret, session_key

# A quick, deterministic stand-in for the desk: reports who it runs for and its terminal
# size, again after each line typed, and checks its session key is the one the daemon derives.
PROBE = r"""
import os, sys
print("ID", os.environ["APT_SESSION_USER"], os.environ["APT_SESSION_ROLE"], os.isatty(0),
      flush=True)
print("KEY", os.environ["APT_SESSION_KEY"], os.environ["APT_SESSION_ID"], flush=True)
for _ in range(2):
    size = os.get_terminal_size(0)
    print("SIZE", size.columns, size.lines, flush=True)
    sys.stdin.readline()
print("BYE", flush=True)
"""


@pytest.fixture
async def ssh(tmp_path: Path) -> AsyncIterator[tuple[int, asyncssh.SSHKey, SshOptions]]:
    """A server on a free port; the returned key is tara's (a trader)."""
    async with serving(tmp_path) as served:
        yield served


@asynccontextmanager
async def serving(
    tmp_path: Path, **overrides: Any
) -> AsyncIterator[tuple[int, asyncssh.SSHKey, SshOptions]]:
    key = asyncssh.generate_private_key("ssh-ed25519")
    public = key.export_public_key("openssh").decode().strip()
    keys = tmp_path / "authorized_keys"
    keys.write_text(f"# desk users\nuser=tara,role=trader {public}\n")
    options = SshOptions(
        keys_file=keys,
        secret_file=tmp_path / "auth" / "session.secret",
        host_key_file=tmp_path / "ssh" / "host_ed25519",
        port=0,
        command=[sys.executable, "-c", PROBE],
        max_sessions=1,
    )
    options = replace(options, **overrides)
    acceptor = await start_server(options)
    port = acceptor.sockets[0].getsockname()[1]
    try:
        yield port, key, options
    finally:
        acceptor.close()
        await acceptor.wait_closed()


async def read_until(process: asyncssh.SSHClientProcess, marker: str) -> str:
    seen = ""
    async with asyncio.timeout(20):
        while marker not in seen:
            chunk = await process.stdout.read(1024)
            assert chunk, f"session ended before {marker!r}: {seen!r}"
            seen += chunk
    return seen


async def read_line(process: asyncssh.SSHClientProcess, prefix: str) -> str:
    """The first whole line of output starting with ``prefix`` (a chunk may end mid-line)."""
    seen = ""
    async with asyncio.timeout(20):
        while True:
            for line in seen.splitlines(keepends=True):
                if line.lstrip().startswith(prefix) and line.endswith("\n"):
                    return line.strip()
            chunk = await process.stdout.read(1024)
            assert chunk, f"session ended before a line starting {prefix!r}: {seen!r}"
            seen += chunk


async def test_a_key_login_gets_a_pty_running_the_session_as_its_user(ssh) -> None:  # type: ignore[no-untyped-def]
    port, key, options = ssh
    assert oct(options.host_key_file.stat().st_mode & 0o777) == "0o600"
    async with asyncssh.connect(
        "127.0.0.1", port, username="tara", client_keys=[key], known_hosts=None, agent_path=None
    ) as conn:
        process = await conn.create_process(term_type="xterm", term_size=(100, 30))
        text = await read_until(process, "SIZE 100 30")  # the client's size reached the PTY
        assert "ID tara trader True" in text
        key_hex, session = text.split("KEY ", 1)[1].split()[:2]
        secret = load_or_create_secret(options.secret_file)
        assert bytes.fromhex(key_hex) == session_key(secret, "tara", "trader", session)
        assert (
            SessionSigner("tara", "trader", session, "x", bytes.fromhex(key_hex)).role == "trader"
        )

        process.change_terminal_size(120, 40)
        process.stdin.write("\n")
        assert await read_line(process, "SIZE 120") == "SIZE 120 40"

        second = await conn.create_process(term_type="xterm")
        assert "too many sessions" in await second.stderr.read()
        assert (await second.wait()).exit_status == 1

        process.stdin.write("\n")
        await read_until(process, "BYE")
        assert (await process.wait()).exit_status == 0


async def test_passwords_and_unknown_keys_are_refused(ssh) -> None:  # type: ignore[no-untyped-def]
    port, key, _ = ssh
    common = {"known_hosts": None, "agent_path": None}
    with pytest.raises(asyncssh.PermissionDenied):
        await asyncssh.connect(
            "127.0.0.1", port, username="tara", password="guess", client_keys=None, **common
        )
    stranger = asyncssh.generate_private_key("ssh-ed25519")
    with pytest.raises(asyncssh.PermissionDenied):
        await asyncssh.connect("127.0.0.1", port, username="tara", client_keys=[stranger], **common)
    with pytest.raises(asyncssh.PermissionDenied):  # the right key for another login name
        await asyncssh.connect("127.0.0.1", port, username="root", client_keys=[key], **common)


async def test_an_idle_session_is_closed(tmp_path: Path) -> None:
    async with (
        serving(tmp_path, idle_timeout_s=0.5) as (port, key, _),
        asyncssh.connect(
            "127.0.0.1", port, username="tara", client_keys=[key], known_hosts=None, agent_path=None
        ) as conn,
    ):
        process = await conn.create_process(term_type="xterm")
        await read_until(process, "SIZE")
        async with asyncio.timeout(20):
            completed = await process.wait()  # no input: the server ends the session
        assert "BYE" not in (completed.stdout or "")


async def test_a_client_that_disconnects_frees_its_session(ssh) -> None:  # type: ignore[no-untyped-def]
    port, key, _ = ssh  # one session at most
    common = {"username": "tara", "client_keys": [key], "known_hosts": None, "agent_path": None}
    async with asyncssh.connect("127.0.0.1", port, **common) as conn:
        await read_until(await conn.create_process(term_type="xterm"), "SIZE")
    # Dropped mid-session: its process is ended, so the slot frees for the next login
    # (at once before the fix it never did; the server needs a moment to notice).
    async with asyncio.timeout(20), asyncssh.connect("127.0.0.1", port, **common) as conn:
        while True:
            again = await conn.create_process(term_type="xterm")
            first = await again.stdout.read(1024)
            if first:
                break
            assert "too many sessions" in await again.stderr.read()
            await asyncio.sleep(0.05)
        seen = first if "SIZE" in first else first + await read_until(again, "SIZE")
        assert "ID tara" in seen


def test_serve_ssh_options_come_from_settings_and_flags(tmp_path: Path) -> None:
    from alphapt_tui.cli import build_parser
    from alphapt_tui.ssh_options import options_from
    from engine.settings import load_settings

    settings = load_settings(data_dir=tmp_path)
    args = build_parser().parse_args(["serve-ssh", "--port", "2299", "--nats", "nats://h:4222"])
    options = options_from(settings, args)
    assert options.port == 2299 and options.keys_file == tmp_path / "auth" / "authorized_keys"
    assert list(options.command)[-3:] == ["attach", "--nats", "nats://h:4222"]
