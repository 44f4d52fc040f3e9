"""The desk over SSH end to end: a real daemon, ``serve-ssh``, real ``attach`` sessions.

A daemon (``alphapt-tui --no-ui``, paper mode, NATS, roles enforced) and ``alphapt-tui
serve-ssh`` run as subprocesses sharing one data directory (keys file, session secret,
ledger). SSH clients with PTYs drive the desks by keystrokes; a terminal emulator (pyte)
turns what each PTY shows into a screen to read. Waits are on conditions, with bounds
generous enough for a loaded two-core machine.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import pty
import re
import shutil
import signal
import subprocess
import sys
import termios
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import asyncssh
import msgspec
import pyte
import pytest
from nats.aio.client import Client as Nats

from alphapt_tui.ssh_server import set_winsize
from engine.auth.signing import load_or_create_secret, session_key, sign
from engine.distributed import rpc
from engine.distributed.rpc_client import NatsEngineClient
from engine.orders.commands import SubmitOrder
from engine.orders.model import OrderType, Product, Side
from engine.snapshot import CommandResult
from tests.services import nats_url

__all__ = ["nats_url"]

# Each step has its own bound (WAIT_S); the whole scenario may take minutes under load.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

WAIT_S = 90.0
"""Bound on any one wait: far above what a loaded machine needs, so only a hang fails."""
ALT_SCREEN_ON, ALT_SCREEN_OFF = b"\x1b[?1049h", b"\x1b[?1049l"
RIGHT = "\x1b[C"


# -- the daemon and the SSH server ---------------------------------------------------------


@dataclass(frozen=True)
class Desk:
    """A running daemon and what a test needs to reach it."""

    root: Path
    env: dict[str, str]
    nats_url: str
    prefix: str
    trader: asyncssh.SSHKey
    viewer: asyncssh.SSHKey

    @property
    def data_dir(self) -> Path:
        """The data directory the daemon and the SSH server share."""
        return self.root / "data"

    def client(self) -> NatsEngineClient:
        """A read-only view of the daemon over NATS (no session: never used to trade)."""
        return NatsEngineClient(self.nats_url, self.prefix, timeout=30, connect_timeout=30)


def wait_for_line(path: Path, pattern: str, process: subprocess.Popen[bytes]) -> re.Match[str]:
    """The first match of ``pattern`` in the log file ``path``, once the process writes it."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        found = re.search(pattern, path.read_text(errors="replace"))
        if found:
            return found
        if process.poll() is not None:
            break
        time.sleep(0.1)
    process.kill()
    raise AssertionError(f"no {pattern!r} from {path.name}:\n{path.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory, nats_url: str) -> Iterator[Desk]:
    """A paper daemon with roles enforced; tara is a trader, vic a viewer."""
    root = tmp_path_factory.mktemp("ssh-desk")
    trader = asyncssh.generate_private_key("ssh-ed25519")
    viewer = asyncssh.generate_private_key("ssh-ed25519")
    keys = root / "data" / "auth" / "authorized_keys"
    keys.parent.mkdir(parents=True)
    keys.write_text(  # what an admin adds, one line per person
        f"user=tara,role=trader {trader.export_public_key().decode().strip()}\n"
        f"user=vic,role=viewer {viewer.export_public_key().decode().strip()}\n"
    )
    prefix = "t" + uuid.uuid4().hex[:10]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ALPHAPT_", "APT_"))}
    env.update(
        {
            "ALPHAPT_DATA_DIR": str(root / "data"),
            "ALPHAPT_MODE": "paper",
            "ALPHAPT_AUTH__ENABLED": "true",
            "ALPHAPT_NATS__URL": nats_url,
            "ALPHAPT_NATS__SUBJECT_PREFIX": prefix,
            "ALPHAPT_NATS__STREAM_PREFIX": prefix.upper(),
            "ALPHAPT_NATS__STORAGE": "memory",
            # A loaded two-core machine: slow answers allowed, and fewer frames to draw for
            # the desks sharing it. (Fewer ticks would not do: risk refuses stale quotes.)
            "ALPHAPT_NATS__RPC_TIMEOUT_S": "20",
            "ALPHAPT_UI__REFRESH_HZ": "2",
            "ALPHAPT_METRICS__PORT": "0",
            "ALPHAPT_STORAGE__ENABLED": "false",
        }
    )
    log = root / "daemon.log"
    with log.open("wb") as out:
        daemon = subprocess.Popen(
            [sys.executable, "-m", "alphapt_tui", "--no-ui"],
            env=env,
            cwd=root,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for_line(log, "attach server listening", daemon)
        yield Desk(root, env, nats_url, prefix, trader, viewer)
    finally:
        daemon.send_signal(signal.SIGTERM)
        try:
            daemon.wait(timeout=30)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait()


@dataclass
class SshServer:
    """``alphapt-tui serve-ssh`` as a subprocess."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path

    def sessions(self) -> list[int]:
        """Process ids of the session processes (the server's children) running now."""
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        try:
            return [int(pid) for pid in path.read_text().split()]
        except FileNotFoundError:
            return []

    def stop(self) -> int:
        """SIGTERM, as a service manager stops it; the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                return self.process.wait(timeout=WAIT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
        return self.process.wait()


@asynccontextmanager
async def serve_ssh(desk: Desk, *flags: str) -> AsyncIterator[SshServer]:
    """``serve-ssh`` on a free port over ``desk``'s data directory."""
    log = desk.root / f"serve-ssh-{uuid.uuid4().hex[:6]}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "alphapt_tui", "serve-ssh", "--port", "0", *flags],
            env=desk.env,
            cwd=desk.root,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = SshServer(process, 0, log)
    try:
        found = await asyncio.to_thread(wait_for_line, log, r"SSH desk on [\d.]+:(\d+)", process)
        server.port = int(found.group(1))
        yield server
    finally:
        server.stop()


# -- a terminal at the other end of an SSH session -----------------------------------------


class Terminal:
    """A terminal at the client end of an SSH session, and the screen it shows (pyte)."""

    def __init__(self, columns: int, rows: int) -> None:
        self.screen = pyte.Screen(columns, rows)
        self.stream = pyte.ByteStream(self.screen)
        self.raw = bytearray()
        self.closed = False
        self._updated = asyncio.Event()

    def feed(self, chunk: bytes) -> None:
        """Output of the session, as the terminal receives it (empty: the session ended)."""
        if not chunk:
            self.closed = True
        self.raw.extend(chunk)
        self.stream.feed(chunk)
        self._updated.set()

    def text(self) -> str:
        """What the screen shows now, one line per row."""
        return "\n".join(self.screen.display)

    async def wait_for(
        self, wanted: str | Callable[[str], object], keep_alive: str = "", timeout: float = WAIT_S
    ) -> str:
        """The screen once it shows ``wanted``; ``keep_alive`` is typed each second meanwhile."""
        check = wanted if callable(wanted) else (lambda text: wanted in text)
        deadline = asyncio.get_running_loop().time() + timeout
        while not check(text := self.text()):
            if self.closed or asyncio.get_running_loop().time() > deadline:
                why = "session ended" if self.closed else f"{timeout:g} s passed"
                raise AssertionError(f"{why} before {wanted!r}; the screen:\n{text}")
            self._updated.clear()
            try:
                await asyncio.wait_for(self._updated.wait(), 1.0)
            except TimeoutError:
                if keep_alive:
                    self.type(keep_alive)
        return text

    def type(self, keys: str) -> None:
        """Keystrokes, as the user types them."""
        raise NotImplementedError

    def resize(self, columns: int, rows: int) -> None:
        """The user's window changes size."""
        self.screen.resize(rows, columns)


class AsyncSshTerminal(Terminal):
    """The session of an asyncssh client."""

    def __init__(self, process: asyncssh.SSHClientProcess, columns: int, rows: int) -> None:
        super().__init__(columns, rows)
        self.process = process
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            while chunk := await self.process.stdout.read(65536):
                self.feed(chunk)
        finally:
            self.feed(b"")

    def type(self, keys: str) -> None:
        self.process.stdin.write(keys.encode())

    def resize(self, columns: int, rows: int) -> None:
        super().resize(columns, rows)
        self.process.change_terminal_size(columns, rows)

    async def ended(self) -> asyncssh.SSHCompletedProcess:
        """The session's end, once the server closes it."""
        async with asyncio.timeout(WAIT_S):
            await self._reader
            return await self.process.wait()


@asynccontextmanager
async def ssh_session(
    port: int, user: str, key: asyncssh.SSHKey, columns: int = 120, rows: int = 40
) -> AsyncIterator[AsyncSshTerminal]:
    """``ssh -t -p PORT user@127.0.0.1`` with ``key``, through asyncssh's client."""
    async with asyncssh.connect(
        "127.0.0.1", port, username=user, client_keys=[key], known_hosts=None, agent_path=None
    ) as conn:
        process = await conn.create_process(
            term_type="xterm-256color", term_size=(columns, rows), encoding=None
        )
        terminal = AsyncSshTerminal(process, columns, rows)
        try:
            yield terminal
        finally:
            terminal._reader.cancel()


class OpenSshTerminal(Terminal):
    """OpenSSH's ``ssh`` running in a PTY of its own, as in a user's terminal window."""

    def __init__(self, master: int, process: asyncio.subprocess.Process, columns: int, rows: int):
        super().__init__(columns, rows)
        self.master, self.process = master, process
        asyncio.get_running_loop().add_reader(master, self._read)

    def _read(self) -> None:
        try:
            chunk = os.read(self.master, 65536)
        except OSError:  # EIO: ssh has exited and closed the terminal
            chunk = b""
        if not chunk:
            asyncio.get_running_loop().remove_reader(self.master)
        self.feed(chunk)

    def type(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def resize(self, columns: int, rows: int) -> None:
        super().resize(columns, rows)
        set_winsize(self.master, columns, rows)  # ssh gets SIGWINCH and tells the server

    async def ended(self) -> int:
        """ssh's exit status."""
        async with asyncio.timeout(WAIT_S):
            return await self.process.wait()


@asynccontextmanager
async def openssh_session(
    port: int, user: str, identity: Path, columns: int = 120, rows: int = 40
) -> AsyncIterator[OpenSshTerminal]:
    """``ssh -p PORT user@127.0.0.1`` in a terminal, with no config, agent or known hosts."""
    master, slave = pty.openpty()
    set_winsize(master, columns, rows)
    options = {
        "BatchMode": "yes",
        "IdentitiesOnly": "yes",
        "IdentityAgent": "none",
        "StrictHostKeyChecking": "no",
        "UserKnownHostsFile": "/dev/null",
        "GlobalKnownHostsFile": "/dev/null",
        "LogLevel": "ERROR",
    }
    process = await asyncio.create_subprocess_exec(
        *("ssh", "-F", "/dev/null", "-i", str(identity), "-p", str(port)),
        *(f"-o{key}={value}" for key, value in options.items()),
        f"{user}@127.0.0.1",
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env={**os.environ, "TERM": "xterm-256color"},
        start_new_session=True,
        preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0),  # resizes reach ssh
    )
    os.close(slave)
    terminal = OpenSshTerminal(master, process, columns, rows)
    try:
        yield terminal
    finally:
        with suppress(ProcessLookupError):
            process.kill()
        await process.wait()
        with suppress(ValueError, OSError):
            asyncio.get_running_loop().remove_reader(master)
        os.close(master)


def restored(raw: bytes | bytearray) -> bool:
    """Whether the desk left the alternate screen after it last entered it."""
    return raw.rfind(ALT_SCREEN_OFF) > raw.rfind(ALT_SCREEN_ON) >= 0


def desk_drawn(text: str) -> bool:
    """The market watch has quotes from the daemon."""
    return "AlphaPT" in text and "RELIANCE" in text and "connecting" not in text


# -- hand-made NATS commands ---------------------------------------------------------------


async def request(desk: Desk, method: str, payload: bytes) -> CommandResult:
    """Publish ``payload`` on ``<prefix>.rpc.<method>`` as anyone with NATS access could."""
    nc = Nats()
    await nc.connect(desk.nats_url, connect_timeout=30, allow_reconnect=False)
    try:
        msg = await nc.request(rpc.rpc_subject(desk.prefix, method), payload, timeout=30)
    finally:
        await nc.close()
    reply = rpc.decode_reply(msg.data)
    assert reply.ok, reply.error
    return msgspec.msgpack.decode(reply.body, type=CommandResult)


def order_for(user: str, quantity: int) -> SubmitOrder:
    return SubmitOrder(
        user=user,
        exchange="NSE",
        tradingsymbol="RELIANCE",
        instrument_token=738561,
        side=Side.BUY,
        order_type=OrderType.MARKET,
        product=Product.CNC,
        quantity=quantity,
    )


# -- the tests -----------------------------------------------------------------------------


async def test_trader_trades_while_a_viewer_watches_and_cannot(desk: Desk) -> None:
    async with (
        serve_ssh(desk, "--max-sessions", "2") as server,
        ssh_session(server.port, "tara", desk.trader) as trader,
        ssh_session(server.port, "vic", desk.viewer) as viewer,
    ):
        await trader.wait_for(desk_drawn)
        await viewer.wait_for(desk_drawn)
        assert len(server.sessions()) == 2, "one desk process per session"

        # The window grows past the wide-layout width: the PTY follows, the desk re-lays out.
        assert "BidQty" not in trader.text()
        trader.resize(160, 45)
        await trader.wait_for("BidQty")

        # The viewer's desk hides trading: no ticket opens.
        viewer.type("b")
        assert "BUY RELIANCE" not in await viewer.wait_for("viewers cannot place orders")

        # The trader buys one RELIANCE on the ticket, by keystrokes.
        trader.type("b")
        await trader.wait_for(lambda text: "BUY RELIANCE (NSE)" in text and "Value ₹" in text)
        trader.type("\r")
        placed = await trader.wait_for(re.compile(r"\w+ placed: BUY 1 NSE:RELIANCE").search)
        order_id = re.search(r"(\w+) placed: BUY 1 NSE:RELIANCE", placed).group(1)  # type: ignore[union-attr]

        # The order reached the daemon, as tara's; its audit row names her session.
        client = desk.client()
        try:
            orders = (await client.snapshot(0)).orders or ()
            order = next(o for o in orders if o.client_order_id == order_id)
            assert (order.user, order.quantity, order.side) == ("tara", 1, Side.BUY)
            audit = await client.audit(0, 2**62)
        finally:
            await client.close()
        row = next(r for r in audit if order_id in r.detail)
        assert (row.user, row.action, row.result) == ("tara", "SubmitOrder", "ok")
        assert row.source == "127.0.0.1"
        started = [line for line in server.log.read_text().splitlines() if "role=trader" in line]
        assert re.findall(r"\bsession=(\w+)", "".join(started)) == [row.session]

        # The viewer sees the trader's order on the blotter (All tab).
        viewer.type("2")
        await viewer.wait_for("Open  Completed")
        viewer.type(RIGHT * 3)
        await viewer.wait_for(lambda text: re.search(r"RELIANCE\s+BUY", text) is not None)

        # The trader's audit screen shows the order with its author.
        trader.type("7")
        await trader.wait_for(lambda text: re.search(r"tara .*SubmitOrder", text) is not None)

        # Quitting the desk ends the session cleanly and gives the terminal back.
        trader.type("q")
        completed = await trader.ended()
        assert completed.exit_status == 0
        assert restored(trader.raw)


async def test_a_viewer_publishing_on_nats_by_hand_is_refused(desk: Desk) -> None:
    unsigned = rpc.encode_command(order_for("vic", 7))
    assert unsigned is not None
    refused = [await request(desk, "command", unsigned)]

    # A key made up to claim the trader role does not verify.
    forged = sign(os.urandom(32), "vic", "trader", "by-hand", "laptop", 1, 0, unsigned)
    refused.append(await request(desk, "signed_command", forged))

    # The viewer's own genuine session key still carries the viewer role.
    secret = load_or_create_secret(desk.data_dir / "auth" / "session.secret")
    genuine = session_key(secret, "vic", "viewer", "by-hand")
    signed = sign(genuine, "vic", "viewer", "by-hand", "laptop", 1, 0, unsigned)
    refused.append(await request(desk, "signed_command", signed))

    assert [r.ok for r in refused] == [False, False, False], refused
    client = desk.client()
    try:
        orders = (await client.snapshot(0)).orders or ()
        audit = await client.audit(0, 2**62)
    finally:
        await client.close()
    assert not [o for o in orders if o.quantity == 7], "no order of the viewer's reached the book"
    vics = [r for r in audit if r.user == "vic" and r.action == "SubmitOrder"]
    assert [r.result for r in vics] == ["refused"] * 3


async def test_an_idle_session_is_closed_and_the_terminal_restored(desk: Desk) -> None:
    async with (
        serve_ssh(desk, "--idle-timeout", "3") as server,
        ssh_session(server.port, "tara", desk.trader) as trader,
    ):
        # Keystrokes keep it open while the desk starts (a no-op: "1" is the screen shown).
        await trader.wait_for(desk_drawn, keep_alive="1")
        completed = await trader.ended()  # no more input: the server closes the session
        assert restored(trader.raw)
        assert "closed after 3 s without input" in (completed.stderr or b"").decode()
        await wait_until(lambda: not server.sessions())


async def test_a_client_that_disconnects_ends_its_desk_process(desk: Desk) -> None:
    async with serve_ssh(desk, "--max-sessions", "1") as server:
        async with ssh_session(server.port, "tara", desk.trader) as trader:
            await trader.wait_for(desk_drawn)
            (pid,) = server.sessions()
        # The connection dropped without quitting the desk: its process must not linger
        # holding the only session slot.
        await wait_until(lambda: not server.sessions())
        async with ssh_session(server.port, "tara", desk.trader) as again:
            await again.wait_for(desk_drawn)
            (second,) = server.sessions()
            assert second != pid
            # Stopping the server ends its sessions and exits cleanly.
            assert await asyncio.to_thread(server.stop) == 0
            await again.ended()
        await wait_until(lambda: gone(second))


def gone(pid: int) -> bool:
    """Whether process ``pid`` has exited (a zombie waiting to be reaped counts)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


async def wait_until(condition: Callable[[], bool]) -> None:
    """Poll ``condition`` until it holds (bounded by :data:`WAIT_S`)."""
    async with asyncio.timeout(WAIT_S):
        while not condition():
            await asyncio.sleep(0.1)


@pytest.mark.skipif(shutil.which("ssh") is None, reason="no OpenSSH client (openssh-client)")
async def test_a_trader_added_while_running_trades_with_openssh(desk: Desk) -> None:
    otto = asyncssh.generate_private_key("ssh-ed25519")
    identity = desk.root / "otto_ed25519"
    identity.write_bytes(otto.export_private_key())
    identity.chmod(0o600)
    async with serve_ssh(desk) as server:
        # The admin adds otto's key with its role; neither server restarts.
        with (desk.data_dir / "auth" / "authorized_keys").open("a") as keys:
            keys.write(f"user=otto,role=trader {otto.export_public_key().decode().strip()}\n")
        async with openssh_session(server.port, "otto", identity) as otto_desk:
            await otto_desk.wait_for(desk_drawn)
            otto_desk.resize(160, 45)  # the window of the user's own terminal
            await otto_desk.wait_for("BidQty")

            otto_desk.type("b")
            await otto_desk.wait_for(lambda t: "BUY RELIANCE (NSE)" in t and "Value ₹" in t)
            # Quantity 1 → 3, then Enter places it; one key per read, as a person types.
            otto_desk.type("\x7f")
            await otto_desk.wait_for("quantity must be a whole number (got nothing)")
            otto_desk.type("3")
            await otto_desk.wait_for(lambda t: "got nothing" not in t)
            otto_desk.type("\r")
            placed = await otto_desk.wait_for(re.compile(r"\w+ placed: BUY 3 NSE:RELIANCE").search)
            order_id = re.search(r"(\w+) placed: BUY 3", placed).group(1)  # type: ignore[union-attr]

            otto_desk.type("q")
            assert await otto_desk.ended() == 0
            assert restored(otto_desk.raw)
    client = desk.client()
    try:
        audit = await client.audit(0, 2**62)
    finally:
        await client.close()
    row = next(r for r in audit if r.user == "otto" and r.action == "SubmitOrder")
    assert row.result == "ok" and order_id in row.detail


async def test_keys_typed_in_one_burst_are_applied_in_order(desk: Desk) -> None:
    # A lagged SSH link, or a desk busy redrawing, delivers keystrokes together.
    async with (
        serve_ssh(desk) as server,
        ssh_session(server.port, "tara", desk.trader) as trader,
    ):
        await trader.wait_for(desk_drawn)
        trader.type("b")
        await trader.wait_for(lambda text: "BUY RELIANCE (NSE)" in text and "Value ₹" in text)
        trader.type("\x7f30\r")
        shown = await trader.wait_for(re.compile(r"placed: BUY \d+|✗").search)
        assert "placed: BUY 30 NSE:RELIANCE" in shown
