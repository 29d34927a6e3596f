"""What the whole test suite needs beyond Python, provided where it can be and checked before a test runs:
the PostgreSQL server at TEST_DATABASE_URL and Debian's Chromium (CPU_PIPELINE_CHROMIUM).

`make test` runs `python -m cpu_pipeline_tests.needs` first. It starts a local PostgreSQL cluster that is
installed but down, and installs Debian's `chromium` package with apt-get when running as root; what it
cannot provide fails it at once, one line per need saying what to install or start, exit status 1.
`make test-fast` needs neither and does not run it.
"""

import os
import shutil
import subprocess
import sys
import time

import sqlalchemy as sa

from cpu_pipeline_tests.conftest import TEST_DATABASE_URL

DEBIAN_CHROMIUM = "/usr/bin/chromium"
# The browser the UI tests drive: Debian's package, or another build named by its path.
CHROMIUM = os.getenv("CPU_PIPELINE_CHROMIUM", DEBIAN_CHROMIUM)
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


def _reach(url: sa.URL) -> str | None:
    """None when the server answers; else the driver's first line of reason."""
    engine = sa.create_engine(url, connect_args={"connect_timeout": 5})
    try:
        with engine.connect():
            return None
    except sa.exc.DBAPIError as error:
        return str(error.orig).strip().splitlines()[0]
    finally:
        engine.dispose()


def _start_local_cluster(port: int) -> bool:
    """Start the installed PostgreSQL cluster on `port` if it is down (Debian's postgresql-common);
    True when one was started."""
    if not shutil.which("pg_lsclusters"):
        return False
    clusters = subprocess.run(["pg_lsclusters", "--no-header"], capture_output=True, text=True).stdout.splitlines()
    for version, name, cluster_port, status, *_ in (line.split() for line in clusters):
        if int(cluster_port) == port and status == "down":
            print(f"make test: starting PostgreSQL {version}/{name} on port {port}", file=sys.stderr)
            subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, name, "start"], check=False)
            return True
    return False


def postgres_problem(url: str = TEST_DATABASE_URL, wait: float = 30) -> str | None:
    """The line to print when the PostgreSQL server at `url` cannot be reached (after starting a local
    cluster that is down, and waiting up to `wait` seconds for it); None when it can."""
    parsed = sa.make_url(url)
    reason = _reach(parsed)
    if reason and parsed.host in LOCAL_HOSTS and _start_local_cluster(parsed.port or 5432):
        deadline = time.monotonic() + wait
        while reason and time.monotonic() < deadline:
            time.sleep(1)
            reason = _reach(parsed)
    if reason is None:
        return None
    where = parsed.render_as_string(hide_password=True)
    return (
        f"PostgreSQL is not reachable at {where} ({reason}): start it, or set TEST_DATABASE_URL to a server "
        "where the tests may create databases"
    )


def chromium_problem(path: str = CHROMIUM) -> str | None:
    """The line to print when no Chromium can be run at `path`, after installing Debian's package where it
    belongs there and apt-get can (as root); None when one can."""
    if os.access(path, os.X_OK):
        return None
    reason = ""
    if path == DEBIAN_CHROMIUM and os.geteuid() == 0 and shutil.which("apt-get"):
        print("make test: installing Debian's chromium package (the UI tests drive it)", file=sys.stderr)
        environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
            installing = subprocess.run(command, capture_output=True, text=True, env=environment)
            if installing.returncode != 0:
                reason = f" (apt-get: {(installing.stderr.strip().splitlines() or ['failed'])[-1]})"
                break
        if os.access(path, os.X_OK):
            return None
    return (
        f"Chromium is missing at {path}{reason}: install Debian's package (apt-get install chromium), "
        "or set CPU_PIPELINE_CHROMIUM to a Chromium executable"
    )


def main() -> int:
    problems = [problem for problem in (postgres_problem(), chromium_problem()) if problem]
    for problem in problems:
        print(f"make test: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
