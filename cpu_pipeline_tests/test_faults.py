"""The pipeline under faults: each test injects one into a real run and establishes that no row is
lost or half-written (figure: rows that differ from the snapshot before the run: 0)."""

import socket
import threading
import time
from datetime import date

import dagster as dg
import pandas as pd
import pytest
import sqlalchemy as sa

from cpu_pipeline.database import bulk, schema
from cpu_pipeline.defs.price_history import assets as price_history
from cpu_pipeline.lib.app_database import AppDatabase
from cpu_pipeline.lib.clock import Clock
from cpu_pipeline.lib.retries import LOAD_RETRIES
from cpu_pipeline_tests import catalogues
from cpu_pipeline_tests.catalogues import WORKED_HIGH, WORKED_MEDIUM, cpu, listings_for
from cpu_pipeline_tests.conftest import TEST_DATABASE_URL
from cpu_pipeline_tests.materialize import PRICE_HISTORY, RECALCULATION, materialize
from cpu_pipeline_tests.postgres import wait_for_lock_wait

WORKED_VALUES = {1: [352.80, 338.02, 367.58, 14.78], 2: [400.00, 389.20, 410.80, 10.80]}
TARGETS = ["price_target_good", "price_target_great", "price_target_fair", "price_target_stddev"]


def _catalogue(url: str) -> None:
    cpus = [cpu(1), cpu(2, multi=8_000)] + [cpu(i) for i in range(3, 40)]
    listings = listings_for(1, WORKED_HIGH) + listings_for(2, WORKED_MEDIUM)
    listings += [row for i in range(3, 40) for row in listings_for(i, [100 + i, 130 + i])]
    catalogues.write(url, cpus, listings)


def _assert_worked_values(url: str) -> None:
    table = catalogues.cpu_table(url)
    for cpu_id, values in WORKED_VALUES.items():
        assert table.loc[cpu_id, TARGETS].tolist() == values
    assert table["price_target_updated_at"].notna().all()


class _RowLock:
    """Another session holding one `cpu` row, so a write-back stops midway through its UPDATE."""

    def __init__(self, url: str, cpu_id: int):
        self.engine = sa.create_engine(url)
        self.connection = self.engine.connect()
        self.transaction = self.connection.begin()
        self.connection.execute(sa.text("SELECT id FROM cpu WHERE id = :id FOR UPDATE"), {"id": cpu_id})

    def release(self) -> None:
        self.transaction.rollback()
        self.connection.close()
        self.engine.dispose()


def test_a_write_back_terminated_midway_leaves_the_table_as_it_was(postgres_url):
    _catalogue(postgres_url)
    assert materialize(postgres_url).success
    before = catalogues.cpu_table(postgres_url)
    lock = _RowLock(postgres_url, cpu_id=20)  # the UPDATE has changed some rows when it reaches this one
    outcome = {}
    run = threading.Thread(target=lambda: outcome.setdefault("result", materialize(postgres_url)))
    run.start()
    try:
        writer = wait_for_lock_wait(postgres_url, "UPDATE cpu SET")
        with sa.create_engine(postgres_url).connect() as admin:
            assert admin.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": writer}).scalar()
    finally:
        lock.release()
    run.join(120)
    assert not outcome["result"].success
    [failure] = [e for e in outcome["result"].all_events if e.is_step_failure]
    assert failure.step_key == "cpu_analytics"
    pd.testing.assert_frame_equal(catalogues.cpu_table(postgres_url), before)  # rows changed: 0
    assert materialize(postgres_url).success
    _assert_worked_values(postgres_url)
    assert (catalogues.cpu_table(postgres_url)["price_target_updated_at"] > before["price_target_updated_at"]).all()


class _DroppingProxy:
    """A TCP port in front of PostgreSQL that drops the first `drops` connections at once, then forwards:
    the database is unreachable for those attempts and back for the next, whatever the timing."""

    def __init__(self, target_port: int, drops: int):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.target_port = target_port
        self.drops = drops
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            if self.drops:
                self.drops -= 1
                client.close()
                continue
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self.server.close()


def test_a_transient_connection_error_on_the_loads_is_retried_with_backoff(postgres_url):
    _catalogue(postgres_url)
    server = sa.make_url(postgres_url)
    proxy = _DroppingProxy(server.port or 5432, drops=2)  # the first attempt of each load
    url = server.set(port=proxy.port).render_as_string(hide_password=False)
    try:
        result = materialize(url)
    finally:
        proxy.close()
    assert result.success
    retried = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY]
    assert {e.step_key for e in retried} == {"cpus", "listing_figures"}
    assert len(retried) == 2  # one refused attempt each, then success
    _assert_worked_values(postgres_url)


# Enough listings that their bulk read lasts a few seconds: long enough to be cut midway.
MANY_LISTINGS = 2_000_000


def _backend_running(url: str, prefix: str, timeout: float = 120) -> int:
    """The pid of the server process running a statement that starts with `prefix`, as soon as one does."""
    engine = sa.create_engine(url)
    deadline = time.monotonic() + timeout
    try:
        with engine.connect() as connection:
            while time.monotonic() < deadline:
                pid = connection.execute(
                    sa.text(
                        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' "
                        "AND query LIKE :prefix"
                    ),
                    {"prefix": prefix + "%"},
                ).scalar()
                if pid is not None:
                    return pid
                connection.rollback()  # a fresh snapshot of pg_stat_activity on the next poll
                time.sleep(0.02)
    finally:
        engine.dispose()
    raise TimeoutError(f"no statement {prefix!r} ran within {timeout} s")


def test_a_connection_cut_midway_through_the_bulk_read_is_retried(postgres_url):
    _catalogue(postgres_url)
    with sa.create_engine(postgres_url).begin() as connection:
        # Every generated row names an existing CPU: the per-row foreign-key trigger, skipped, would triple the time.
        connection.execute(sa.text("SET LOCAL session_replication_role = replica"))
        connection.execute(
            sa.text(
                "INSERT INTO listing (id, cpu_id, status, adjusted_price_usd) "
                "SELECT 100000 + g, 3 + g % 37, 'active', 100 + g % 97 FROM generate_series(1, :count) AS g"
            ),
            {"count": MANY_LISTINGS},
        )
    outcome = {}
    run = threading.Thread(target=lambda: outcome.setdefault("result", materialize(postgres_url)))
    run.start()
    try:
        reader = _backend_running(postgres_url, f"COPY ({bulk.listing_figures_query([])[:60]}")
        with sa.create_engine(postgres_url).connect() as admin:
            assert admin.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": reader}).scalar()
    finally:
        run.join(300)
    result = outcome["result"]
    assert result.success
    retried = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY]
    assert [e.step_key for e in retried] == ["listing_figures"]  # cut once, read again in full
    [loaded] = result.asset_materializations_for_node("listing_figures")
    assert loaded.metadata["active_listings"].value == MANY_LISTINGS + len(WORKED_HIGH) + len(WORKED_MEDIUM) + 2 * 37
    _assert_worked_values(postgres_url)


def test_a_transient_connection_error_on_the_history_read_is_retried_like_the_loads(postgres_url, tmp_path):
    _catalogue(postgres_url)
    schema.create_pipeline_tables(sa.create_engine(postgres_url))
    day = date(2026, 11, 29)
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        assert materialize(postgres_url, day=day, instance=instance).success
        # Tonight's trends again, alone, their inputs from the first run: their one read is the history's.
        server = sa.make_url(postgres_url)
        proxy = _DroppingProxy(server.port or 5432, drops=1)
        try:
            result = dg.materialize(
                RECALCULATION + PRICE_HISTORY,
                selection=[price_history.cpu_price_trends],
                resources={
                    "app_database": AppDatabase(url=server.set(port=proxy.port).render_as_string(hide_password=False)),
                    "clock": Clock(fixed_day=day.isoformat()),
                },
                instance=instance,
                raise_on_error=False,
            )
        finally:
            proxy.close()
    assert result.success
    retried = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY]
    assert [e.step_key for e in retried] == ["cpu_price_trends"]


def test_an_unreachable_database_fails_clearly_after_bounded_retries(tmp_path):
    url = "postgresql://deal_brain:s3cr3t-pw@127.0.0.1:1/deal_brain"
    started = time.monotonic()
    result = materialize(url)
    elapsed = time.monotonic() - started
    assert not result.success
    retries = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY]
    assert len(retries) == 2 * LOAD_RETRIES  # each load: 3 retries, then it gives up
    assert elapsed >= 1 + 2 + 4  # with backoff, not a storm
    failures = [e for e in result.all_events if e.is_step_failure]
    messages = " ".join(str(e.step_failure_data.error.to_string()) for e in failures)
    assert "postgresql://deal_brain:***@127.0.0.1:1/deal_brain" in messages
    assert "s3cr3t-pw" not in messages
    assert all("s3cr3t-pw" not in str(event) for event in result.all_events)


@pytest.mark.parametrize("mistake", ["missing database", "unknown host"])
def test_a_mistake_in_the_url_fails_at_once_with_its_cause_and_is_never_retried(mistake):
    server = sa.make_url(TEST_DATABASE_URL)
    url, cause = {
        "missing database": (server.set(database="no_such_database_e11"), 'database "no_such_database_e11" does not exist'),
        "unknown host": (server.set(host="db.invalid"), 'unknown database host "db.invalid"'),
    }[mistake]
    started = time.monotonic()
    result = materialize(url.render_as_string(hide_password=False))
    assert not result.success
    assert not [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY]
    assert time.monotonic() - started < 1 + 2 + 4  # no backoff waited
    failures = [e for e in result.all_events if e.is_step_failure]
    assert {e.step_key for e in failures} == {"cpus", "listing_figures"}
    for failure in failures:
        root = failure.step_failure_data.error
        while root.cause is not None:
            root = root.cause
        assert root.cls_name == "DatabaseRefused" and cause in root.message


def test_a_missing_column_names_table_and_column_and_is_not_retried(postgres_url):
    _catalogue(postgres_url)
    with sa.create_engine(postgres_url).begin() as connection:
        connection.execute(sa.text("ALTER TABLE listing DROP COLUMN adjusted_price_usd"))
    before = catalogues.cpu_table(postgres_url)
    result = materialize(postgres_url)
    assert not result.success
    assert not [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY]
    [failure] = [e for e in result.all_events if e.is_step_failure]
    assert failure.step_key == "listing_figures"
    assert "table `listing` has no column `adjusted_price_usd`" in failure.step_failure_data.error.to_string()
    pd.testing.assert_frame_equal(catalogues.cpu_table(postgres_url), before)


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_two_runs_racing_end_with_the_table_of_one_run(store, request):
    url = request.getfixturevalue(f"{store}_url")
    _catalogue(url)
    results = []
    runs = [threading.Thread(target=lambda: results.append(materialize(url))) for _ in range(2)]
    for run in runs:
        run.start()
    for run in runs:
        run.join(180)
    assert [result.success for result in results] == [True, True]
    table = catalogues.cpu_table(url)
    assert table["price_target_updated_at"].nunique() == 1  # every row from the same run: no mix
    _assert_worked_values(url)
