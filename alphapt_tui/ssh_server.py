"""``alphapt-tui serve-ssh``: the desk over SSH, one ``attach`` process per session.

Public-key authentication only, against the authorized-keys file whose lines carry the
user and role (``engine.auth.keys``); passwords and keyboard-interactive are refused and
the login name must be the key's user. Each session gets a PTY running
``alphapt-tui attach`` in its own process, started with a session key derived from the
secret it shares with the daemon, so every command it sends is signed for that user and
role (``engine.auth.remote``). Window resizes are passed through; a session without
keyboard input for ``idle_timeout_s`` is closed. A session and its desk process end
together: the desk quitting ends the session, and the client leaving, the idle timeout or
the server stopping ends the desk (SIGTERM, then SIGKILL). See docs/ssh.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import pty
import signal
import struct
import sys
import termios
import uuid
from pathlib import Path
from typing import Any

import asyncssh
import structlog

from alphapt_tui.ssh_options import SshOptions
from engine.auth.keys import AuthorizedKey, KeysFileError, load_keys
from engine.auth.remote import ENV_ID, ENV_KEY, ENV_ROLE, ENV_SOURCE, ENV_USER
from engine.auth.signing import load_or_create_secret, session_key

log = structlog.get_logger("alphapt_tui.ssh")

SIGNAL_GRACE_S = 5.0
"""How long a session's desk has to exit after SIGTERM before it is killed."""


def load_host_key(path: Path) -> asyncssh.SSHKey:
    """The server's host key, generated (ed25519, 0600) on first run."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        key = asyncssh.generate_private_key("ssh-ed25519")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(key.export_private_key())
        log.info("generated SSH host key", path=str(path))
    return asyncssh.read_private_key(str(path))


def set_winsize(fd: int, columns: int, rows: int) -> None:
    """Tell the PTY its size; the session process gets SIGWINCH."""
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))


class DeskSshServer(asyncssh.SSHServer):
    """Authentication for one connection: public keys from the keys file, nothing else."""

    def __init__(self, options: SshOptions) -> None:
        self.options = options
        self.conn: asyncssh.SSHServerConnection | None = None

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self.conn = conn

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return False

    def kbdint_auth_supported(self) -> bool:
        return False

    def public_key_auth_supported(self) -> bool:
        return True

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        offered = key.export_public_key("openssh").decode().split()[:2]
        try:
            entries = load_keys(self.options.keys_file)
        except KeysFileError as exc:
            log.warning("authorized keys unusable; refusing logins", error=str(exc))
            return False
        for entry in entries:
            if entry.user == username and entry.openssh.split() == offered:
                if self.conn is not None:
                    self.conn.set_extra_info(alphapt_key=entry)
                return True
        log.info("ssh key refused", user=username)
        return False


class SessionRunner:
    """Runs sessions: a PTY and the desk process per SSH session, within the limits."""

    def __init__(self, options: SshOptions) -> None:
        self.options = options
        self.active = 0
        self.secret = load_or_create_secret(options.secret_file)
        self.children: set[asyncio.subprocess.Process] = set()

    def environment(self, entry: AuthorizedKey, session: str, source: str, term: str) -> dict:
        """The session process's environment: ours, the terminal, and the session identity."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("APT_SESSION_")}
        key = session_key(self.secret, entry.user, entry.role, session)
        env.update(
            {
                "TERM": term,
                ENV_USER: entry.user,
                ENV_ROLE: entry.role,
                ENV_ID: session,
                ENV_SOURCE: source,
                ENV_KEY: key.hex(),
            }
        )
        return env

    async def handle(self, process: asyncssh.SSHServerProcess) -> None:
        """One SSH session, start to exit."""
        entry: AuthorizedKey | None = process.get_extra_info("alphapt_key")
        if entry is None:
            process.exit(1)
            return
        if self.active >= self.options.max_sessions:
            process.stderr.write(b"alphapt-tui: too many sessions, try again later\r\n")
            process.exit(1)
            return
        if process.term_type is None:
            process.stderr.write(b"alphapt-tui: the desk needs a terminal (ssh -t)\r\n")
            process.exit(1)
            return
        self.active += 1
        try:
            await self._run(process, entry)
        finally:
            self.active -= 1

    async def close(self) -> None:
        """End every session's desk process (the server is stopping)."""
        await asyncio.gather(*(_end(child, SIGNAL_GRACE_S) for child in list(self.children)))

    async def _run(self, process: asyncssh.SSHServerProcess, entry: AuthorizedKey) -> None:
        peer = process.get_extra_info("peername") or ("?",)
        session = uuid.uuid4().hex[:12]
        columns, rows = process.term_size[:2]
        master, slave = pty.openpty()
        set_winsize(master, columns or 80, rows or 24)
        env = self.environment(entry, session, str(peer[0]), process.term_type or "xterm")
        log.info("ssh session", user=entry.user, role=entry.role, session=session, peer=peer[0])
        child = await asyncio.create_subprocess_exec(
            *self.options.command,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            preexec_fn=_controlling_tty,
        )
        os.close(slave)
        self.children.add(child)
        loop = asyncio.get_running_loop()
        ending: set[asyncio.Task[None]] = set()

        def end(why: str) -> None:
            # SIGTERM lets the desk give the terminal back; SIGKILL if it does not exit.
            if child.returncode is None and not ending:
                log.info("ending ssh session", user=entry.user, session=session, why=why)
                ending.add(loop.create_task(_end(child, SIGNAL_GRACE_S)))

        idle = _IdleTimer(loop, self.options.idle_timeout_s, lambda: end("idle"))
        loop.add_reader(master, _pump_out, master, process)
        pump_in = asyncio.create_task(_pump_in(process, master, idle))
        # The client going away (EOF or a dropped connection) ends its desk process too.
        pump_in.add_done_callback(lambda _: end("client gone"))
        try:
            status = await child.wait()
        finally:
            loop.remove_reader(master)
            _drain(master, process)
            idle.cancel()
            pump_in.cancel()
            if child.returncode is None:  # cancelled: the server is stopping
                await _end(child, SIGNAL_GRACE_S)
            self.children.discard(child)
            os.close(master)
        log.info("ssh session ended", user=entry.user, session=session, status=status)
        with contextlib.suppress(OSError, asyncssh.Error):
            if idle.expired:
                seconds = f"{self.options.idle_timeout_s:g}"
                process.stderr.write(
                    f"alphapt-tui: session closed after {seconds} s without input\r\n".encode()
                )
            process.exit(status if status >= 0 else 1)


class _IdleTimer:
    """Calls ``expire`` after ``seconds`` without :meth:`touch`."""

    def __init__(self, loop: asyncio.AbstractEventLoop, seconds: float, expire: Any) -> None:
        self.loop, self.seconds, self._expire = loop, seconds, expire
        self.expired = False
        self.handle = loop.call_later(seconds, self._fire)

    def _fire(self) -> None:
        self.expired = True
        self._expire()

    def touch(self) -> None:
        self.handle.cancel()
        self.handle = self.loop.call_later(self.seconds, self._fire)

    def cancel(self) -> None:
        self.handle.cancel()


def _controlling_tty() -> None:
    # A session of its own with the PTY as controlling terminal: resizes send SIGWINCH.
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def _pump_out(master: int, process: asyncssh.SSHServerProcess) -> None:
    try:
        data = os.read(master, 65536)
    except OSError:  # EIO: the session process closed the terminal
        data = b""
    if data:
        # A closed channel drops the output; the reader keeps the PTY drained until exit.
        with contextlib.suppress(OSError, asyncssh.Error):
            process.stdout.write(data)
    else:
        asyncio.get_running_loop().remove_reader(master)


def _drain(master: int, process: asyncssh.SSHServerProcess) -> None:
    """Send what the session process wrote just before it exited."""
    os.set_blocking(master, False)
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:
            return
        if not data:
            return
        with contextlib.suppress(OSError, asyncssh.Error):
            process.stdout.write(data)


async def _pump_in(process: asyncssh.SSHServerProcess, master: int, idle: _IdleTimer) -> None:
    while True:
        try:
            data = await process.stdin.read(4096)
        except asyncssh.TerminalSizeChanged as change:
            set_winsize(master, change.width, change.height)
            continue
        except (asyncssh.BreakReceived, asyncssh.SignalReceived):
            continue
        except (OSError, asyncssh.Error):  # the connection is gone
            return
        if not data:
            return
        idle.touch()
        try:
            os.write(master, data)
        except OSError:  # the session process has gone
            return


async def _end(child: asyncio.subprocess.Process, grace: float) -> None:
    """Terminate ``child``; kill it if it has not exited after ``grace`` seconds."""
    if child.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            child.terminate()
    try:
        await asyncio.wait_for(child.wait(), grace)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            child.kill()
        await child.wait()


async def start_server(
    options: SshOptions, runner: SessionRunner | None = None
) -> asyncssh.SSHAcceptor:
    """Listen for SSH sessions; returns the acceptor (``close()`` it to stop listening).

    Pass ``runner`` to end its sessions' processes with :meth:`SessionRunner.close`.
    """
    runner = runner or SessionRunner(options)
    return await asyncssh.create_server(
        lambda: DeskSshServer(options),
        options.host,
        options.port,
        server_host_keys=[load_host_key(options.host_key_file)],
        process_factory=runner.handle,
        encoding=None,
        keepalive_interval=options.keepalive_s,
        keepalive_count_max=3,
        login_timeout=30,
        allow_scp=False,
        agent_forwarding=False,
        x11_forwarding=False,
    )


def run_serve_ssh(options: SshOptions) -> int:
    """Serve until SIGINT or SIGTERM, then end every session's desk process."""

    async def serve() -> None:
        runner = SessionRunner(options)
        acceptor = await start_server(options, runner)
        host, port = acceptor.sockets[0].getsockname()[:2]  # the real port when given 0
        print(f"alphapt-tui: SSH desk on {host}:{port}", file=sys.stderr, flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        try:
            await stop.wait()
        finally:
            acceptor.close()
            await runner.close()
            await acceptor.wait_closed()
        log.info("ssh server stopped")

    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        return 0
    except OSError as exc:
        print(f"alphapt-tui: serve-ssh failed: {exc}", file=sys.stderr)
        return 1
    return 0
