"""Fresh within a minute, never silently stale, with the real daemon (issue 12): the listing-change
trigger, the overdue alert and `cpu-pipeline health`, on a served stack of its own whose sensors look
every `INTERVAL` seconds and whose freshness window is `WINDOW` seconds. The tests run in file order:
the last one stops the daemon. And a sensor whose every tick fails, alerted on from the real daemon's ticks."""

import json
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from cpu_pipeline.defs.recalculation.sensors import LISTING_CHANGE_TAG
from cpu_pipeline.ops import service
from cpu_pipeline_tests.conftest import alert_receiver
from cpu_pipeline_tests.served import served_stack

INTERVAL = 10
WINDOW = 60
CLI = str(Path(sys.executable).parent / "cpu-pipeline")
PROBE = "recalculate_on_listing_change"
# As Deal Brain's ORM writes a price: updated_at bumped with it.
SET_PRICE = sa.text("UPDATE listing SET adjusted_price_usd = :price, updated_at = now() WHERE id = :id")


@pytest.fixture(scope="module")
def fresh_stack(tmp_path_factory):
    with alert_receiver() as inbox:
        settings = {"CPU_PIPELINE_SENSOR_INTERVAL_SECONDS": str(INTERVAL), "CPU_PIPELINE_FRESHNESS_WINDOW_SECONDS": str(WINDOW)}
        with served_stack(tmp_path_factory, inbox, settings, listing_change_running=True) as served:
            served.inbox = inbox
            yield served


def _change_runs(served) -> list[dict]:
    """The runs the listing-change trigger requested, oldest first."""
    runs = served.graphql("""query { runsOrError { ... on Runs { results { runId status startTime tags { key value } } } } }""")[
        "runsOrError"
    ]["results"]
    return [run for run in reversed(runs) if any(tag["key"] == LISTING_CHANGE_TAG for tag in run["tags"])]


def _wait_for_change_runs(served, count: int, timeout: float = 180) -> list[dict]:
    """Poll until `count` change runs exist and all have finished; returns them."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = _change_runs(served)
        if len(runs) >= count and all(run["status"] in ("SUCCESS", "FAILURE", "CANCELED") for run in runs):
            return runs
        time.sleep(1)
    raise TimeoutError(f"expected {count} finished change runs within {timeout} s, have {_change_runs(served)}")


def _good_price(served, cpu_id: int) -> float | None:
    with sa.create_engine(served.app_url).connect() as connection:
        return connection.execute(sa.text("SELECT price_target_good FROM cpu WHERE id = :id"), {"id": cpu_id}).scalar()


def _expected_good_price(served, cpu_id: int) -> float:
    """Deal Brain's task's good price for the CPU, from its active listings as they are now."""
    with sa.create_engine(served.app_url).connect() as connection:
        prices = connection.execute(
            sa.text("SELECT adjusted_price_usd FROM listing WHERE cpu_id = :id AND status = 'active' AND adjusted_price_usd > 0"),
            {"id": cpu_id},
        ).scalars()
        return round(statistics.mean(prices), 2)


def _priced_listing(served) -> tuple[int, int]:
    """An active listing of a CPU with at least two active prices: (listing id, cpu id)."""
    with sa.create_engine(served.app_url).connect() as connection:
        return tuple(
            connection.execute(
                sa.text(
                    "SELECT min(id), cpu_id FROM listing WHERE status = 'active' AND adjusted_price_usd > 0 "
                    "GROUP BY cpu_id HAVING count(*) >= 2 ORDER BY cpu_id LIMIT 1"
                )
            ).one()
        )


def _set_price(url: str, listing_id: int, price: float) -> None:
    with sa.create_engine(url).begin() as connection:
        connection.execute(SET_PRICE, {"price": price, "id": listing_id})


def test_one_update_of_a_price_reaches_its_cpus_targets_within_60_s(fresh_stack):
    listing_id, cpu_id = _priced_listing(fresh_stack)
    before = _good_price(fresh_stack, cpu_id)
    runs_before = len(_change_runs(fresh_stack))
    _set_price(fresh_stack.app_url, listing_id, 9999.5)
    changed = time.monotonic()
    expected = _expected_good_price(fresh_stack, cpu_id)
    assert expected != before
    while _good_price(fresh_stack, cpu_id) != expected and time.monotonic() - changed < 180:
        time.sleep(0.5)
    delay = time.monotonic() - changed
    assert _good_price(fresh_stack, cpu_id) == expected
    assert delay <= 60, f"the new targets took {delay:.0f} s"
    [run] = _wait_for_change_runs(fresh_stack, runs_before + 1)[runs_before:]
    assert run["status"] == "SUCCESS"
    # The daemon stored the change as an observation of Deal Brain's `listing`, its data version the
    # signal; the run's `listing_figures` names that version as its input: the UI shows what changed and what followed.
    signal = _tags(run)[LISTING_CHANGE_TAG]
    assert signal in [_tags(observation).get("dagster/data_version") for observation in _events(fresh_stack, "observations")]
    [figures] = [event for event in _events(fresh_stack, "materializations", "listing_figures") if event["runId"] == run["runId"]]
    assert _tags(figures)["dagster/input_data_version/deal_brain/listing"] == signal


def _tags(item: dict) -> dict[str, str]:
    return {tag["key"]: tag["value"] for tag in item["tags"]}


def _events(served, kind: str, *key: str) -> list[dict]:
    """The latest asset observations or materialisations of the asset `key` (Deal Brain's `listing` by default)."""
    field = {"observations": "assetObservations", "materializations": "assetMaterializations"}[kind]
    query = f"""query($path: [String!]!) {{ assetOrError(assetKey: {{path: $path}}) {{
                 ... on Asset {{ {field}(limit: 20) {{ runId tags {{ key value }} }} }} }} }}"""
    return served.graphql(query, path=list(key or ("deal_brain", "listing")))["assetOrError"][field]


def test_a_burst_of_100_updates_over_20_s_gives_one_run_and_a_quiet_minute_none(fresh_stack):
    runs_before = len(_wait_for_change_runs(fresh_stack, 0))
    listing_id, _ = _priced_listing(fresh_stack)
    engine = sa.create_engine(fresh_stack.app_url)
    for step in range(100):
        with engine.begin() as connection:
            connection.execute(SET_PRICE, {"price": 500.0 + step, "id": listing_id})
        time.sleep(0.2)  # the case's own pace: 100 updates spread over 20 s
    engine.dispose()
    _wait_for_change_runs(fresh_stack, runs_before + 1)
    quiet_until = time.monotonic() + 60
    while time.monotonic() < quiet_until:
        assert len(_change_runs(fresh_stack)) == runs_before + 1, "a second run for one burst, or a run without a change"
        time.sleep(2)


def test_a_transaction_that_began_first_and_commits_last_still_triggers_a_run(fresh_stack):
    runs_before = len(_wait_for_change_runs(fresh_stack, 0))
    engine = sa.create_engine(fresh_stack.app_url)
    with engine.connect() as connection:
        listings = connection.execute(
            sa.text(
                "SELECT min(id), cpu_id FROM listing WHERE status = 'active' AND adjusted_price_usd > 0 "
                "GROUP BY cpu_id HAVING count(*) >= 2 ORDER BY cpu_id LIMIT 2 OFFSET 1"
            )
        ).all()
    (early_listing, early_cpu), (late_listing, late_cpu) = listings
    early, late = engine.connect(), engine.connect()
    early.execute(
        sa.text("UPDATE listing SET adjusted_price_usd = 4321.5, updated_at = now() WHERE id = :id"), {"id": early_listing}
    )
    time.sleep(0.05)  # the case itself: the early transaction's now() before the late one's
    late.execute(
        sa.text("UPDATE listing SET adjusted_price_usd = 1234.5, updated_at = now() WHERE id = :id"), {"id": late_listing}
    )
    late.commit()
    _wait_for_change_runs(fresh_stack, runs_before + 1)
    assert _good_price(fresh_stack, late_cpu) == _expected_good_price(fresh_stack, late_cpu)
    early.commit()  # row count and max(updated_at) stay as they were; the row-change counters move
    early.close()
    late.close()
    _wait_for_change_runs(fresh_stack, runs_before + 2)
    assert _good_price(fresh_stack, early_cpu) == _expected_good_price(fresh_stack, early_cpu)


def test_no_write_back_within_the_window_alerts_once_and_a_success_recovers(fresh_stack):
    """The schedule is stopped: after the last write-back, WINDOW seconds pass without another."""

    def events() -> list[str]:
        return [alert["event"] for alert in fresh_stack.inbox.received]

    already = events().count("recalculation_overdue")
    deadline = time.monotonic() + WINDOW + 12 * INTERVAL
    while events().count("recalculation_overdue") == already and time.monotonic() < deadline:
        time.sleep(1)
    assert events().count("recalculation_overdue") == already + 1
    still_overdue = time.monotonic() + 3 * INTERVAL  # three more evaluations, still one alert
    while time.monotonic() < still_overdue:
        time.sleep(1)
    assert events().count("recalculation_overdue") == already + 1
    recovered = events().count("recovered")
    fresh_stack.wait_for_run(fresh_stack.launch())
    deadline = time.monotonic() + 12 * INTERVAL
    while events().count("recovered") == recovered and time.monotonic() < deadline:
        time.sleep(1)
    assert events().count("recovered") == recovered + 1


def test_a_sensor_whose_every_tick_fails_alerts_once_then_recovered_on_the_served_daemon(fresh_stack):
    """The listing-change probe errs on every tick while `listing` is away (renamed): a real daemon's ticks."""

    def events() -> list[str]:
        return [alert["event"] for alert in fresh_stack.inbox.received if alert.get("instigator") == PROBE]

    engine = sa.create_engine(fresh_stack.app_url)
    with engine.begin() as connection:
        connection.execute(sa.text("ALTER TABLE listing RENAME TO listing_away"))
    try:
        # Three failed ticks, then the watcher's next look: about four intervals.
        deadline = time.monotonic() + 20 * INTERVAL
        while "ticks_failing" not in events() and time.monotonic() < deadline:
            time.sleep(1)
        assert events() == ["ticks_failing"]
        still_failing = time.monotonic() + 3 * INTERVAL  # more failed ticks, the same streak: no second alert
        while time.monotonic() < still_failing:
            time.sleep(1)
        assert events() == ["ticks_failing"]
        report = json.loads(_health(fresh_stack, "--json").stdout)
        [probe] = [tick for tick in report["ticks"] if tick["name"] == PROBE]
        assert not report["healthy"] and probe["last_status"] == "FAILURE" and probe["failures_in_a_row"] >= 3
    finally:
        with engine.begin() as connection:
            connection.execute(sa.text("ALTER TABLE listing_away RENAME TO listing"))
    deadline = time.monotonic() + 12 * INTERVAL
    while events() != ["ticks_failing", "recovered"] and time.monotonic() < deadline:
        time.sleep(1)
    assert events() == ["ticks_failing", "recovered"]
    [failing] = [alert for alert in fresh_stack.inbox.received if alert.get("event") == "ticks_failing"]
    assert f"the sensor {PROBE} has failed 3 ticks in a row" in failing["text"]
    engine.dispose()


def _health(served, *options: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "DAGSTER_HOME": str(served.home),
        "DAGSTER_PG_URL": served.dagster_url,
        "CPU_PIPELINE_FRESHNESS_WINDOW_SECONDS": "3600",
    }
    return subprocess.run([CLI, "health", *options], env=env, capture_output=True, text=True, timeout=120)


def test_health_is_ok_with_the_daemon_running_and_fails_once_it_stops(fresh_stack):
    fresh_stack.wait_for_run(fresh_stack.launch())
    healthy = _health(fresh_stack)
    assert healthy.returncode == 0, healthy.stdout + healthy.stderr
    assert healthy.stdout.startswith("OK: daemon heartbeat")
    report = json.loads(_health(fresh_stack, "--json").stdout)
    assert report["healthy"] and report["daemon"]["alive"] and report["recalculation"]["fresh"]
    # Every sensor's last tick, as the daemon stored it; none failing (alert_on_failing_ticks included).
    ticks = {tick["name"]: tick["last_status"] for tick in report["ticks"] if tick["type"] == "sensor"}
    assert {"alert_on_failing_ticks", "alert_on_overdue_recalculation", "recalculate_on_listing_change"} <= set(ticks)
    assert set(ticks.values()) <= {"SUCCESS", "SKIPPED", None}, report["ticks"]

    daemon = fresh_stack.stack.processes[service.DAEMON]
    os.killpg(daemon.pid, signal.SIGKILL)
    daemon.wait()
    deadline = time.monotonic() + 180
    while (failing := _health(fresh_stack, "--heartbeat-tolerance", "0")).returncode == 0 and time.monotonic() < deadline:
        time.sleep(2)
    assert failing.returncode == 1
    [line] = failing.stdout.splitlines()
    assert line.startswith("FAIL: the Dagster daemon has sent no heartbeat within 30 s (since ")
    assert "cpu table" not in line  # the recalculation itself is fresh
