"""`cpu_report.show`: one CPU's targets, values, sample, confidence, errors and trend, read back from
the tables a real recalculation wrote (with the history and trends of two nights)."""

import io
import os
import subprocess
import sys
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from cpu_pipeline import cpu_report, settings
from cpu_pipeline.database import schema
from cpu_pipeline_tests import catalogues
from cpu_pipeline_tests.catalogues import WORKED_HIGH, WORKED_MEDIUM, cpu, listings_for
from cpu_pipeline_tests.fake_postgres import refusing_server
from cpu_pipeline_tests.materialize import materialize

NIGHT = date(2026, 11, 29)


def _show(url: str, name_or_id: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = cpu_report.show(name_or_id, settings.read({"DATABASE_URL": url}), out=out, err=err)
    return status, out.getvalue(), err.getvalue()


@pytest.fixture
def recalculated(postgres_url) -> str:
    """CPUs with a week of trend (CPU 2's good price fell from $440.00 to $400.00); CPU 3 in error on the
    second night, 1 of 23 CPUs (the run warns and writes the others)."""
    others = range(10, 30)
    catalogues.write(
        postgres_url,
        [cpu(1, name="Intel Core i5-8500"), cpu(2, name="AMD Ryzen 5 5600", multi=8_000), cpu(3, name="Intel Core i7-8700")]
        + [cpu(i) for i in others],
        listings_for(1, WORKED_HIGH)
        + listings_for(2, [430, 450])
        + listings_for(3, [300, 310])
        + [row for i in others for row in listings_for(i, [100, 110])],
    )
    schema.create_pipeline_tables(sa.create_engine(postgres_url))
    assert materialize(postgres_url, day=NIGHT - timedelta(days=7)).success
    engine = sa.create_engine(postgres_url)
    with engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM listing WHERE cpu_id = 2"))
        connection.execute(sa.text("UPDATE cpu SET cpu_mark_single = -1000 WHERE id = 3"))
    engine.dispose()
    catalogues.write(postgres_url, [], listings_for(2, WORKED_MEDIUM) + listings_for(3, ["NaN"], first_id=9000))
    assert materialize(postgres_url, day=NIGHT).success
    return postgres_url


def test_show_prints_one_cpus_targets_values_sample_confidence_and_trend(recalculated):
    status, out, err = _show(recalculated, "ryzen 5 5600")
    assert (status, err) == (0, "")
    lines = [line.strip() for line in out.splitlines()]
    assert lines[0].startswith("AMD Ryzen 5 5600  (id 2, Intel; PassMark 8000 multi-thread, 2000 single-thread)")
    for line in (
        "good    $400.00",
        "great   $389.20",
        "fair    $410.80",
        "stddev  $10.80",
        "sample size  7 active listings",
        "confidence   medium",
        "errors  none",
        "trend  (as of 2026-11-29)",
        "good price  $400.00",
        "7 days  -$40.00 (-9.09%)",
        "30 days  - (-)",
        "price drop  no; wide price range  no; outliers  0",
    ):
        assert line in lines, line
    assert "np." not in out


def test_show_finds_a_cpu_by_id_and_gives_its_errors_as_plain_values(recalculated):
    status, out, _ = _show(recalculated, "3")
    assert status == 0
    assert out.startswith("Intel Core i7-8700  (id 3,")
    assert "  cpu_mark_single is not a whole non-negative number: -1000\n" in out
    assert "1 active listing(s) with an adjusted price that is not a finite number: listing 9000 ('NaN')" in out
    # The values of its last good run, as the cpu table keeps them.
    assert "  good    $305.00\n" in out


def test_show_lists_the_cpus_a_partial_name_matches_and_says_when_none_does(recalculated):
    status, out, err = _show(recalculated, "intel core")
    assert (status, out) == (1, "")
    assert err.splitlines()[1:] == ["       1  Intel Core i5-8500", "       3  Intel Core i7-8700"]
    status, _, err = _show(recalculated, "Pentium")
    assert status == 1 and err == "show: no CPU has the id or a name containing 'Pentium'\n"


def test_show_before_any_trend_says_there_is_none_yet(sqlite_url):
    catalogues.write(sqlite_url, [cpu(1)], listings_for(1, WORKED_HIGH))
    assert materialize(sqlite_url).success
    status, out, _ = _show(sqlite_url, "Test CPU 1")
    assert status == 0
    assert out.splitlines()[-1].startswith("trend  none yet")


def test_the_command_line_shows_a_cpu_by_its_whole_name(recalculated, capsys, monkeypatch):
    from cpu_pipeline import cli

    monkeypatch.setenv("DATABASE_URL", recalculated)
    assert cli.main(["show", "Intel Core i5-8500"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("Intel Core i5-8500  (id 1, Intel;") and "good    $352.80" in printed


# --- failures in one line, with what to do -------------------------------------------------------------


def test_show_before_the_first_run_says_to_run_it_and_creates_nothing(tmp_path):
    out, err = io.StringIO(), io.StringIO()
    configured = settings.read({"CPU_PIPELINE_DATA_DIR": str(tmp_path / "data")})  # DATABASE_URL unset: the embedded one
    assert cpu_report.show("Intel Core i5-8500", configured, out=out, err=err) == 1
    [line] = err.getvalue().splitlines()
    assert line.startswith("show: no database yet: DATABASE_URL is unset") and "run `make run`" in line
    assert "or set DATABASE_URL" in line and "check the path" not in line
    assert not (tmp_path / "data").exists()


def test_show_on_a_database_without_deal_brains_tables_says_which_and_what_to_do(postgres_url):
    status, _, err = _show(postgres_url, "Intel Core i5-8500")
    assert status == 1
    [line] = err.splitlines()
    assert line.startswith("show: the application database has no table `cpu`: point DATABASE_URL at Deal Brain's database")
    assert 'relation "cpu" does not exist' not in line


def test_show_with_a_wrong_password_says_so_without_the_drivers_words():
    with refusing_server("28P01", 'password authentication failed for user "deal_brain"', asks_password=True) as port:
        status, _, err = _show(f"postgresql://deal_brain:s3cr3t@127.0.0.1:{port}/deal_brain", "Intel Core i5-8500")
    assert status == 1
    [line] = err.splitlines()
    assert line.startswith(f'show: wrong password for user "deal_brain" on 127.0.0.1:{port}: correct the password')
    assert "FATAL" not in line and "s3cr3t" not in line


def test_show_on_a_missing_sqlite_file_named_by_database_url_says_to_check_its_path(tmp_path):
    status, _, err = _show(f"sqlite:///{tmp_path / 'typo.sqlite'}", "Intel Core i5-8500")
    assert status == 1
    assert err.startswith(f"show: the SQLite database {tmp_path / 'typo.sqlite'} does not exist, and nothing was created")


def test_a_sample_of_one_listing_is_said_in_the_singular(sqlite_url):
    catalogues.write(sqlite_url, [cpu(1), cpu(2)], listings_for(1, [300]) + listings_for(2, WORKED_HIGH))
    assert materialize(sqlite_url).success
    assert "  sample size  1 active listing\n" in _show(sqlite_url, "Test CPU 1")[1]
    assert f"  sample size  {len(WORKED_HIGH)} active listings\n" in _show(sqlite_url, "Test CPU 2")[1]


def test_the_command_line_show_imports_no_dagster(recalculated):
    program = "import sys; from cpu_pipeline import cli; cli.main(['show', '1']); print('dagster' in sys.modules)"
    shown = subprocess.run(
        [sys.executable, "-c", program],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "DATABASE_URL": recalculated},
    ).stdout
    assert shown.startswith("Intel Core i5-8500  (id 1,") and shown.splitlines()[-1] == "False"
