"""Quality and tick-store metrics, the compose stack, Prometheus, Grafana and .env.template."""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from engine.clock import TestClock
from engine.kernel import Kernel
from engine.observability import QUALITY_METRICS, STORAGE_METRICS
from engine.quality import names
from engine.settings import Settings, load_settings
from engine.storage.writer import WriterStats
from tests.conftest import FROZEN_START

ROOT = Path(__file__).resolve().parents[1]
RESERVED = {
    # Exported by their owners later; the dashboard already uses these exact names.
    "alphapt_orders",
    "alphapt_risk_rejections_total",
    "alphapt_pnl_rupees",
    "alphapt_strategy_tick_seconds_bucket",
    "alphapt_strategy_tick_seconds_sum",
    "alphapt_strategy_tick_seconds_count",
}


def tool(name: str) -> str:
    """The path of a command-line tool; skipped only off CI when it is missing."""
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is required in CI (Debian package: prometheus)")
        pytest.skip(f"{name} not installed")
    return path


class FakeStore:
    """Stands in for the tick store component (chDB allows one store per process)."""

    def __init__(self, stats: WriterStats | None) -> None:
        self._stats = stats

    def stats(self) -> WriterStats | None:
        return self._stats


WRITER = WriterStats(
    enqueued=1200,
    written=1000,
    dropped=7,
    failed=3,
    batches=4,
    retries=1,
    pending=190,
    last_batch_rows=250,
    last_batch_latency_s=0.02,
    lag_s=0.4,
    last_error=None,
)


def bad_kernel(settings: Settings, seconds: int = 60) -> Kernel:
    feed = settings.feed.model_copy(update={"scenario": "bad-data", "fault_rate": 0.05})
    clock = TestClock(FROZEN_START)
    kernel = Kernel(settings.model_copy(update={"feed": feed}), clock)
    for _ in range(seconds):
        clock.advance(1.0)
        kernel.feed.emit(len(kernel.feed.market.tokens))
    return kernel


def scrape(kernel: Kernel) -> str:
    return generate_latest(kernel.metrics.registry).decode()


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_quality_metrics_match_the_monitor(settings: Settings) -> None:
    kernel = bad_kernel(settings)
    values = samples(scrape(kernel))
    snap = kernel.quality.snapshot()
    assert snap.quarantined > 0 and snap.score < 100.0
    for check in snap.checks:
        key = ("alphapt_quality_checks_total", (("check", check.name), ("policy", check.policy)))
        assert values[key] == check.count
    assert {c.name for c in snap.checks} == set(names.ALL_CHECKS)
    assert values[("alphapt_quality_score", ())] == pytest.approx(snap.score)
    assert values[("alphapt_quality_ticks_quarantined_total", ())] == snap.quarantined
    assert values[("alphapt_quality_ticks_flagged_total", ())] == snap.flagged
    assert values[("alphapt_quality_ticks_checked_total", ())] == snap.ticks
    assert values[("alphapt_quality_worst_instrument_score", ())] == snap.worst[0].score
    raised = ("alphapt_quality_alerts_total", (("outcome", "raised"),))
    assert values[raised] == snap.alerts_raised > 0


def test_scrape_follows_the_monitor_without_a_hot_path_stage(settings: Settings) -> None:
    kernel = bad_kernel(settings, seconds=40)
    stages = list(kernel.bus._hot_path)
    before = samples(scrape(kernel))[("alphapt_quality_ticks_checked_total", ())]
    kernel.clock.advance(1.0)  # type: ignore[attr-defined]
    kernel.feed.emit(10)
    after = samples(scrape(kernel))[("alphapt_quality_ticks_checked_total", ())]
    assert after == before + 10
    assert kernel.bus._hot_path == stages


def test_storage_metrics_only_while_the_tick_store_runs(settings: Settings) -> None:
    kernel = bad_kernel(settings, seconds=1)
    names_off = {name for name, _ in samples(scrape(kernel))}
    assert not names_off & set(STORAGE_METRICS)
    kernel.storage = FakeStore(None)  # type: ignore[assignment]
    assert not {name for name, _ in samples(scrape(kernel))} & set(STORAGE_METRICS)
    kernel.storage = FakeStore(WRITER)  # type: ignore[assignment]
    values = samples(scrape(kernel))
    assert values[("alphapt_storage_ticks_enqueued_total", ())] == 1200
    assert values[("alphapt_storage_ticks_written_total", ())] == 1000
    assert values[("alphapt_storage_ticks_dropped_total", ())] == 7
    assert values[("alphapt_storage_ticks_failed_total", ())] == 3
    assert values[("alphapt_storage_pending_ticks", ())] == 190
    assert values[("alphapt_storage_lag_seconds", ())] == pytest.approx(0.4)
    assert values[("alphapt_storage_last_batch_seconds", ())] == pytest.approx(0.02)
    assert set(QUALITY_METRICS) <= {name for name, _ in values}


def test_promtool_accepts_a_live_scrape(settings: Settings, tmp_path: Path) -> None:
    promtool = tool("promtool")
    kernel = bad_kernel(settings, seconds=5)
    kernel.storage = FakeStore(WRITER)  # type: ignore[assignment]
    result = subprocess.run(
        [promtool, "check", "metrics"], input=scrape(kernel), capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_accepts_the_prometheus_config() -> None:
    promtool = tool("promtool")
    config = ROOT / "deploy" / "prometheus" / "prometheus.yml"
    result = subprocess.run(
        [promtool, "check", "config", str(config)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "desk:9108" in config.read_text()


# -- compose --------------------------------------------------------------------------------


def compose_config() -> dict:
    docker = shutil.which("docker")
    if docker is not None:
        probe = subprocess.run([docker, "compose", "version"], capture_output=True, text=True)
        if probe.returncode == 0:
            checked = subprocess.run(
                [docker, "compose", "-f", str(ROOT / "docker-compose.yml"), "config", "-q"],
                capture_output=True,
                text=True,
            )
            assert checked.returncode == 0, checked.stderr
    yaml = pytest.importorskip("yaml")
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_file_has_the_stack() -> None:
    config = compose_config()
    services = config["services"]
    assert set(services) == {
        "nats",
        "clickhouse",
        "redis",
        "postgres",
        "desk",
        "prometheus",
        "grafana",
    }
    published = {
        name: {port.rsplit(":", 1)[1] for port in service.get("ports", [])}
        for name, service in services.items()
    }
    assert published["nats"] >= {"4222", "8222"}
    assert published["clickhouse"] >= {"8123"}
    assert published["redis"] == {"6379"}
    assert published["postgres"] == {"5432"}
    assert published["desk"] == {"9108"}
    assert published["prometheus"] == {"9090"}
    assert published["grafana"] == {"3000"}
    for service in services.values():
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:"), f"{port} is published on every interface"
    assert "--jetstream" in services["nats"]["command"]
    assert "nats-data:/data" in services["nats"]["volumes"]
    desk = services["desk"]
    assert desk["build"] == "."
    env = desk["environment"]
    assert env["ALPHAPT_METRICS__HOST"] == "0.0.0.0" and env["ALPHAPT_METRICS__PORT"] == "9108"
    assert env["ALPHAPT_LEDGER__URL"].startswith("postgresql+asyncpg://")
    assert "@postgres:5432/" in env["ALPHAPT_LEDGER__URL"]
    assert "@clickhouse:8123/" in env["ALPHAPT_STORAGE__DSN"]
    assert "alphapt-tui --no-ui" in " ".join(desk["command"])
    grafana_mounts = " ".join(services["grafana"]["volumes"])
    assert "./deploy/grafana/provisioning:" in grafana_mounts
    assert "./deploy/grafana/dashboards:" in grafana_mounts
    assert "./deploy/prometheus/prometheus.yml:" in " ".join(services["prometheus"]["volumes"])
    named = {v.split(":", 1)[0] for s in services.values() for v in s.get("volumes", [])}
    assert {n for n in named if not n.startswith(".")} == set(config["volumes"])
    for mount in named:
        if mount.startswith("./"):
            assert (ROOT / mount).exists(), mount


def test_dockerfile_builds_the_daemon() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert text.splitlines()[1] == "FROM python:3.11-slim"
    assert "pip install ." in text
    assert 'CMD ["alphapt-tui", "--no-ui"]' in text
    assert "ALPHAPT_METRICS__HOST=0.0.0.0" in text
    assert ".env\n" in (ROOT / ".dockerignore").read_text()


# -- grafana --------------------------------------------------------------------------------

PROMQL_WORDS = {
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "offset",
    "and",
    "or",
    "unless",
}


def metric_names(expr: str) -> set[str]:
    """Metric names in a PromQL expression (labels, functions and ranges removed)."""
    text = re.sub(r'"[^"]*"', "", expr)
    text = re.sub(r"\{[^}]*\}", "", text)
    text = re.sub(r"\[[^\]]*\]", "", text)
    text = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", "", text)
    names_found = set()
    for match in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", text):
        word = match.group(0)
        following = text[match.end() :].lstrip()
        if following.startswith("(") or word in PROMQL_WORDS:
            continue
        names_found.add(word)
    return names_found


def dashboard_exprs() -> list[tuple[str, str]]:
    folder = ROOT / "deploy" / "grafana" / "dashboards"
    exprs = []
    for path in sorted(folder.glob("*.json")):
        dashboard = json.loads(path.read_text())
        for panel in dashboard["panels"]:
            for target in panel.get("targets", []):
                exprs.append((panel["title"], target["expr"]))
    return exprs


SUFFIXES = {
    "counter": ("_total",),
    "gauge": ("",),
    "histogram": ("_bucket", "_sum", "_count"),
    "summary": ("", "_sum", "_count"),
}


def exported_names(text: str) -> set[str]:
    """Sample names a scrape has or will have (labelled families may have no child yet)."""
    out = set()
    for family in text_string_to_metric_families(text):
        out |= {family.name + suffix for suffix in SUFFIXES.get(family.type, ("",))}
        out |= {sample.name for sample in family.samples}
    return out


def test_metric_name_parser() -> None:
    expr = 'histogram_quantile(0.99, sum by (le) (rate(a_bucket{x="b c"}[5m]))) + b_total'
    assert metric_names(expr) == {"a_bucket", "b_total"}


def test_dashboard_queries_name_only_exported_or_reserved_metrics(settings: Settings) -> None:
    kernel = bad_kernel(settings, seconds=5)
    kernel.storage = FakeStore(WRITER)  # type: ignore[assignment]
    kernel.metrics.feed_to_cache.observe(0.001)
    exported = exported_names(scrape(kernel))
    exprs = dashboard_exprs()
    assert len(exprs) >= 20
    used = set()
    for title, expr in exprs:
        found = metric_names(expr)
        assert found, (title, expr)
        unknown = found - exported - RESERVED
        assert not unknown, f"{title}: {sorted(unknown)} not exported"
        used |= found
    # Every reserved name has a panel waiting for it.
    optional = {"alphapt_strategy_tick_seconds_sum", "alphapt_strategy_tick_seconds_count"}
    assert RESERVED - used <= optional
    titles = {title for title, _ in exprs}
    for wanted in ("Tick throughput", "Drops", "Quality score", "Orders by status", "P&L"):
        assert wanted in titles


def test_grafana_provisioning_points_at_the_dashboards() -> None:
    yaml = pytest.importorskip("yaml")
    base = ROOT / "deploy" / "grafana" / "provisioning"
    datasource = yaml.safe_load((base / "datasources" / "prometheus.yml").read_text())
    uid = datasource["datasources"][0]["uid"]
    assert datasource["datasources"][0]["url"] == "http://prometheus:9090"
    provider = yaml.safe_load((base / "dashboards" / "alphapt.yml").read_text())
    assert provider["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"
    for path in (ROOT / "deploy" / "grafana" / "dashboards").glob("*.json"):
        for panel in json.loads(path.read_text())["panels"]:
            if panel["type"] != "row":
                assert panel["datasource"]["uid"] == uid, panel["title"]


# -- .env.template --------------------------------------------------------------------------


def test_env_template_is_up_to_date() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_env_template.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_env_template_documents_every_key_and_each_loads(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    text = (ROOT / ".env.template").read_text()
    lines = text.splitlines()
    keys = [line[1:].split("=", 1) for line in lines if line.startswith("#ALPHAPT_")]
    documented = {key for key, _ in keys}

    def leaves(model: type, prefix: str) -> set[str]:
        out = set()
        for name, field in model.model_fields.items():
            annotation = field.annotation
            if isinstance(annotation, type) and hasattr(annotation, "model_fields"):
                out |= leaves(annotation, f"{prefix}{name.upper()}__")
            else:
                out.add(f"{prefix}{name.upper()}")
        return out

    assert leaves(Settings, "ALPHAPT_") <= documented
    settings_part = text.split("# docker-compose.yml")[0].splitlines()
    for before, line in itertools.pairwise(settings_part):
        if line.startswith("#ALPHAPT_"):
            assert before.startswith("# ") and len(before) > 3, f"{line} has no docstring"
    # Every value shown loads as that key (defaults and the compose examples alike).
    for key, value in keys:
        if value == "":
            continue
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("ALPHAPT_DATA_DIR", str(tmp_path / "data"))
    loaded = load_settings()
    assert loaded.metrics.host == "0.0.0.0"
    assert loaded.ledger.url is not None and "@postgres:5432/" in loaded.ledger.url


def test_queue_gauges_follow_the_bus_queues_on_every_update(settings: Settings) -> None:
    kernel = bad_kernel(settings, seconds=1)
    ui = kernel.bus.subscribe_ticks("ui")
    watcher = kernel.bus.subscribe("watcher", ["alerts."])

    def gauges() -> tuple[float, float, float]:
        kernel._update_gauges()
        values = samples(scrape(kernel))
        return (
            values[("alphapt_bus_queue_depth", (("consumer", "ui"),))],
            values[("alphapt_ticks_dropped", (("consumer", "ui"),))],
            values[("alphapt_bus_queue_depth", (("consumer", "watcher"),))],
        )

    kernel.clock.advance(1.0)  # type: ignore[attr-defined]
    kernel.feed.emit(10)
    kernel.bus.publish("alerts.test", object())
    first = gauges()
    assert first == (ui.depth, ui.drops, 1) and ui.depth > 0
    for _ in range(3):
        kernel.clock.advance(1.0)  # type: ignore[attr-defined]
        kernel.feed.emit(len(kernel.feed.market.tokens))
    watcher.get_nowait()
    assert gauges() == (ui.depth, ui.drops, 0)
    assert ui.drops > 0 and ui.depth > first[0]
