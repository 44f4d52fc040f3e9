"""Kite login: URL, request token, checksum exchange against the fake Kite, 0600 storage, expiry."""

from __future__ import annotations

import hashlib
import io
import json
import stat
import sys
from datetime import datetime
from pathlib import Path

import pytest

from alphapt_tui import cli
from alphapt_tui.login import run_login
from engine.clock import IST, TestClock
from engine.kite.session import (
    KiteSession,
    LoginError,
    checksum,
    login_url,
    parse_request_token,
    token_expiry,
)
from engine.kite.settings import KiteSecretError, KiteSettings
from engine.kite.token_store import (
    TokenUnavailable,
    describe_expiry,
    load_valid_session,
    save_session,
    token_provider,
)
from tests.kite_fake.server import FakeKite

SECRET = "s3cr3tAPIsecretVALUE"


@pytest.fixture
def kite():
    with FakeKite(api_secret=SECRET, tick_interval=None, heartbeat_interval=None) as fake:
        yield fake


def test_login_url_and_checksum() -> None:
    assert login_url("abc123") == "https://kite.zerodha.com/connect/login?v=3&api_key=abc123"
    expected = hashlib.sha256(b"keyreqsecret").hexdigest()
    assert checksum("key", "req", "secret") == expected


@pytest.mark.parametrize(
    "line",
    [
        "https://desk.example/cb?action=login&type=login&status=success&request_token=Tok123abc\n",
        "  Tok123abc  ",
        "request_token=Tok123abc&status=success",
    ],
)
def test_request_token_from_redirect_or_bare(line: str) -> None:
    assert parse_request_token(line) == "Tok123abc"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("", "no request token"),
        ("https://desk.example/cb?status=cancelled&request_token=Tok123", "cancelled"),
        ("https://desk.example/cb?status=success", "no request_token"),
        ("tok en; rm -rf /", "not a Kite request token"),
    ],
)
def test_bad_request_tokens_are_one_line(line: str, message: str) -> None:
    with pytest.raises(LoginError, match=message) as err:
        parse_request_token(line)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    ("login", "expiry"),
    [
        (datetime(2026, 11, 25, 10, 0, tzinfo=IST), datetime(2026, 11, 26, 6, 0, tzinfo=IST)),
        (datetime(2026, 11, 25, 3, 0, tzinfo=IST), datetime(2026, 11, 25, 6, 0, tzinfo=IST)),
        (datetime(2026, 11, 25, 6, 0, tzinfo=IST), datetime(2026, 11, 26, 6, 0, tzinfo=IST)),
        (datetime(2026, 11, 30, 23, 0, tzinfo=IST), datetime(2026, 12, 1, 6, 0, tzinfo=IST)),
    ],
)
def test_tokens_expire_at_six_ist_next_morning(login: datetime, expiry: datetime) -> None:
    assert token_expiry(login) == expiry


def session(login: datetime, token: str = "accesstok1") -> KiteSession:
    return KiteSession(token, "AB1234", login, token_expiry(login))


def test_stored_token_is_0600_and_expiry_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "kite" / "session.json"
    clock = TestClock(datetime(2026, 11, 25, 10, 30, tzinfo=IST))
    save_session(path, session(datetime(2026, 11, 25, 10, 0, tzinfo=IST)))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text())["expires_at"] == "2026-11-26T06:00:00+05:30"
    loaded = load_valid_session(path, clock)
    assert describe_expiry(loaded, clock) == "expires in 19h"
    assert "accesstok1" not in repr(loaded)
    save_session(path, session(datetime(2026, 11, 25, 10, 5, tzinfo=IST), "accesstok2"))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["session.json"]  # no temp files left
    provide = token_provider(path, clock)
    assert provide() == "accesstok2"
    clock.set_ns(int(datetime(2026, 11, 26, 5, 40, tzinfo=IST).timestamp() * 1e9))
    assert describe_expiry(loaded, clock) == "expires in 20m"
    clock.advance(20 * 60)
    with pytest.raises(TokenUnavailable) as err:
        load_valid_session(path, clock)
    assert str(err.value) == "the Kite session expired at 26 Nov 06:00 IST: run alphapt-tui login"
    assert provide() is None


def test_missing_or_corrupt_token_file(tmp_path: Path) -> None:
    clock = TestClock()
    with pytest.raises(TokenUnavailable, match="not logged in to Kite: run alphapt-tui login"):
        load_valid_session(tmp_path / "none.json", clock)
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(TokenUnavailable, match="unreadable: run alphapt-tui login"):
        load_valid_session(tmp_path / "bad.json", clock)


def test_secret_file_and_its_errors(tmp_path: Path) -> None:
    secret_file = tmp_path / "kite_secret"
    secret_file.write_text(SECRET + "\n")
    assert KiteSettings(api_secret_file=secret_file).secret().get_secret_value() == SECRET
    assert SECRET not in repr(KiteSettings(api_secret=SECRET))
    with pytest.raises(KiteSecretError, match="cannot read"):
        KiteSettings(api_secret_file=tmp_path / "missing").secret()
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(KiteSecretError, match="is empty"):
        KiteSettings(api_secret_file=tmp_path / "empty").secret()


# -- the command ------------------------------------------------------------------------------


def run_cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, argv: list[str], stdin: str
) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    status = cli.main(argv)
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture
def kite_env(kite: FakeKite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    secret_file = tmp_path / "kite_secret"
    secret_file.write_text(SECRET)
    monkeypatch.setenv("ALPHAPT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ALPHAPT_KITE__API_KEY", kite.api_key)
    monkeypatch.setenv("ALPHAPT_KITE__ROOT", kite.root)
    monkeypatch.setenv("ALPHAPT_KITE__API_SECRET_FILE", str(secret_file))
    return tmp_path / "data" / "kite" / "session.json"


def test_login_command_exchanges_the_token_and_stores_it(
    kite: FakeKite, kite_env: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    redirect = f"https://desk.example/cb?status=success&request_token={kite.request_token}\n"
    status, out, err = run_cli(monkeypatch, capsys, ["login"], redirect)
    assert status == 0, err
    assert f"connect/login?v=3&api_key={kite.api_key}" in out
    assert "Logged in to Kite as AB1234" in out and "expires in " in out
    request, instruments = kite.requests
    assert (request.method, request.path) == ("POST", "/session/token")
    assert request.params["checksum"] == [kite.checksum()]
    # The Kite feed needs the instruments dump, so login fetches it with the new token.
    assert (instruments.method, instruments.path) == ("GET", "/instruments")
    assert "Instruments dump cached:" in out
    assert stat.S_IMODE(kite_env.stat().st_mode) == 0o600
    assert json.loads(kite_env.read_text())["access_token"] == kite.access_token
    assert SECRET not in out + err and kite.access_token not in out + err

    status, out, err = run_cli(monkeypatch, capsys, ["login", "--status"], "")
    assert status == 0 and out.startswith("Kite session of AB1234: expires in ")


def test_login_with_a_wrong_secret_fails_in_one_line(
    kite: FakeKite, kite_env: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    kite_env.parent.parent.mkdir(parents=True)
    (kite_env.parent.parent.parent / "kite_secret").write_text("not-the-secret")
    status, out, err = run_cli(monkeypatch, capsys, ["login"], kite.request_token + "\n")
    assert status == 1
    assert err.count("\n") == 1 and "Kite refused the request token" in err
    assert "not-the-secret" not in out + err
    assert not kite_env.exists()


def test_login_needs_key_and_secret_from_settings_not_arguments(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setenv("ALPHAPT_DATA_DIR", str(tmp_path))
    status, _, err = run_cli(monkeypatch, capsys, ["login"], "")
    assert status == 2 and "ALPHAPT_KITE__API_KEY" in err
    monkeypatch.setenv("ALPHAPT_KITE__API_KEY", "k")
    status, _, err = run_cli(monkeypatch, capsys, ["login"], "")
    assert status == 2 and "ALPHAPT_KITE__API_SECRET" in err
    with pytest.raises(SystemExit):
        cli.main(["login", "--api-secret", "x"])


def test_status_refuses_an_expired_session(tmp_path: Path) -> None:
    kite = KiteSettings()
    save_session(
        kite.resolved_token_file(tmp_path), session(datetime(2026, 11, 24, 9, 0, tzinfo=IST))
    )
    err = io.StringIO()
    clock = TestClock(datetime(2026, 11, 25, 7, 0, tzinfo=IST))
    assert run_login(kite, tmp_path, status_only=True, clock=clock, stderr=err) == 1
    assert err.getvalue() == (
        "alphapt-tui: the Kite session expired at 25 Nov 06:00 IST: run alphapt-tui login\n"
    )
