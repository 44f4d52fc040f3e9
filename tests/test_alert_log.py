from engine.alert_log import AlertLog
from engine.alerts import AlertRaised, AlertSource, Severity


def alert(n: int) -> AlertRaised:
    return AlertRaised(f"A{n}", n, Severity.WARNING, AlertSource.RISK, f"alert {n}")


def test_acknowledge_one_and_all() -> None:
    log = AlertLog()
    for n in range(3):
        log.add(alert(n))
    assert log.unacknowledged == 3
    assert log.acknowledge("A1", "asha") == 1
    assert log.acknowledge("A1", "asha") == 0
    assert log.unacknowledged == 2
    assert [e.acknowledged_by for e in log.entries()] == ["", "asha", ""]
    version = log.version
    assert log.acknowledge(None, "ravi") == 2
    assert log.unacknowledged == 0 and log.version == version + 1


def test_capacity_drops_the_oldest_and_keeps_the_count_right() -> None:
    log = AlertLog(capacity=2)
    for n in range(5):
        log.add(alert(n))
    assert [e.alert.alert_id for e in log.entries()] == ["A3", "A4"]
    assert log.unacknowledged == 2
