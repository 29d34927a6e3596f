"""End to end: no fragment of a secret in a database URL reaches a run's stored events, its metadata,
its error or the log printed, whatever the URL's shape; and a run cancelled while its write-back waits
on a lock stops within seconds on the served stack, its statement cancelled on the server."""

import time
import urllib.parse

import dagster as dg
import pytest
import sqlalchemy as sa
from dagster._serdes import serialize_value

from cpu_pipeline.database import demo_catalogue
from cpu_pipeline_tests.materialize import materialize
from cpu_pipeline_tests.postgres import scalar, wait_for_lock_wait

PASSWORD = "Zq@9%x/y:Secret"  # every character a URL's userinfo must percent-encode, and a `%`
PASSWORD_FRAGMENTS = ["Zq", "9%x", "Secret", urllib.parse.quote(PASSWORD, safe="")]


def _with_password(url: str, where: str) -> str:
    """The test database's URL with PASSWORD: percent-encoded in the userinfo or the query string, or
    pasted as it is (trust auth ignores it; the pipeline must never show it)."""
    plain = sa.make_url(url)
    server = f"{plain.host}:{plain.port}/{plain.database}"
    encoded = urllib.parse.quote(PASSWORD, safe="")
    return {
        "userinfo": f"postgresql://{plain.username}:{encoded}@{server}",
        "query": f"postgresql+psycopg2://{plain.username}@{server}?password={encoded}&application_name=nightly",
        "pasted": f"postgresql://{plain.username}:{PASSWORD}@{server}",
    }[where]


def _everything_shown(result: dg.ExecuteInProcessResult, instance: dg.DagsterInstance) -> str:
    """All a run leaves behind: its stored events (messages, metadata, errors) as the UI reads them."""
    return "\n".join(serialize_value(record) for record in instance.all_logs(result.run_id))


@pytest.mark.parametrize("where", ["userinfo", "query"])
def test_a_run_with_a_password_anywhere_in_the_url_shows_no_fragment_of_it(postgres_url, where, capfd):
    engine = sa.create_engine(postgres_url)
    demo_catalogue.write_catalogue(engine, *demo_catalogue.generate_catalogue(20, 200, seed=3))
    engine.dispose()
    with dg.DagsterInstance.ephemeral() as instance:
        result = materialize(_with_password(postgres_url, where), instance=instance)
        shown = _everything_shown(result, instance) + capfd.readouterr().err
    assert result.success
    assert "connecting to postgresql" in shown and "with psycopg2" in shown  # the log line that names the database
    assert [fragment for fragment in PASSWORD_FRAGMENTS if fragment in shown] == []


def test_a_pasted_password_fails_the_run_saying_to_percent_encode_it_and_shows_no_fragment(postgres_url, capfd):
    with dg.DagsterInstance.ephemeral() as instance:
        result = materialize(_with_password(postgres_url, "pasted"), instance=instance)
        shown = _everything_shown(result, instance) + capfd.readouterr().err
    assert not result.success
    # The resource fails to start: the run's failure event carries the error, as the UI shows it.
    assert "percent-encode special characters in the password" in shown
    assert [fragment for fragment in PASSWORD_FRAGMENTS if fragment in shown] == []


# --- a cancel reaches the database ---------------------------------------------------------------------

# Generous, for a loaded machine: without the fix the run waits as long as the lock is held (here: until the deadline).
CANCEL_DEADLINE_SECONDS = 60
ACTIVE = "SELECT count(*) FROM pg_stat_activity WHERE pid = :pid AND state = 'active'"


def test_a_run_terminated_while_its_write_back_waits_on_a_row_lock_is_canceled_within_seconds(served):
    engine = sa.create_engine(served.app_url)
    with engine.connect() as blocker:
        transaction = blocker.begin()
        blocker.execute(sa.text("SELECT id FROM cpu WHERE id = 60 FOR UPDATE"))  # the write-back's UPDATE waits here
        try:
            run_id = served.launch()
            waiting = wait_for_lock_wait(served.app_url, "UPDATE cpu SET")
            terminated = time.monotonic()
            served.client.terminate_run(run_id)  # what the UI's Terminate does
            status = served.wait_for_run(run_id, timeout=CANCEL_DEADLINE_SECONDS)
            elapsed = time.monotonic() - terminated
            # Still holding the lock: the run's statement has been cancelled on the server, not let through.
            still_running = scalar(served.app_url, ACTIVE, pid=waiting)
        finally:
            transaction.rollback()
    engine.dispose()
    assert (status, still_running) == ("CANCELED", 0)
    assert elapsed < CANCEL_DEADLINE_SECONDS
    assert served.wait_for_run(served.launch()) == "SUCCESS"  # the next run is not kept queued
