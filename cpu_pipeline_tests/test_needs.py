"""`make test`'s check of what the suite needs: one line for each missing need, exit status 1, at once."""

import os
import subprocess
import sys

from cpu_pipeline_tests.conftest import TEST_DATABASE_URL
from cpu_pipeline_tests.served import ROOT


def _check(**environment: str) -> subprocess.CompletedProcess:
    """`make test`'s first step, as it runs it, with these variables set."""
    return subprocess.run(
        [sys.executable, "-m", "cpu_pipeline_tests.needs"],
        cwd=ROOT,
        env={**os.environ, **environment},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_missing_chromium_fails_at_once_in_one_line_saying_what_to_install(tmp_path):
    missing = tmp_path / "chromium"  # not the Debian path: nothing is installed for it
    checked = _check(CPU_PIPELINE_CHROMIUM=str(missing), TEST_DATABASE_URL=TEST_DATABASE_URL)
    assert checked.returncode == 1
    assert checked.stderr == (
        f"make test: Chromium is missing at {missing}: install Debian's package (apt-get install chromium), "
        "or set CPU_PIPELINE_CHROMIUM to a Chromium executable\n"
    )


def test_an_unreachable_postgresql_fails_at_once_in_one_line_naming_the_server():
    checked = _check(CPU_PIPELINE_CHROMIUM=sys.executable, TEST_DATABASE_URL="postgresql://postgres:s3cret@127.0.0.1:1/postgres")
    assert checked.returncode == 1
    [line] = checked.stderr.splitlines()
    assert line.startswith("make test: PostgreSQL is not reachable at postgresql://postgres:***@127.0.0.1:1/postgres (")
    assert line.endswith("set TEST_DATABASE_URL to a server where the tests may create databases")


def test_it_passes_silently_when_both_are_there():
    checked = _check(CPU_PIPELINE_CHROMIUM=sys.executable, TEST_DATABASE_URL=TEST_DATABASE_URL)
    assert (checked.returncode, checked.stderr) == (0, "")
