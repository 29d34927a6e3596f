"""`make install` on a fresh clone: the long part shows pip's progress and says what it is doing."""

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_installing_the_lock_says_what_happens_and_shows_pips_progress(tmp_path):
    # A dry run for a virtual environment that does not exist yet: the commands a fresh clone runs.
    planned = subprocess.run(
        ["make", "--dry-run", "install", f"VENV={tmp_path / 'venv'}"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    [lock] = [line for line in planned if " -r requirements.lock" in line]
    assert "--quiet" not in lock and "--progress-bar on" in lock
    said = planned[planned.index(lock) - 1]
    assert said.startswith("echo ") and "installing the locked dependencies" in said and "minutes" in said
