"""The idle served stack's memory: the resident set (RSS) of every process `cpu-pipeline serve` started
(its whole process tree below it: webserver, daemon, code servers), once the stack has been idle for
`--idle` seconds.

Creates two PostgreSQL databases on the server (Dagster's storage and an application database with the
demo catalogue), starts `cpu-pipeline serve` from this checkout's virtualenv on a free port, waits until
the UI answers, then `--idle` seconds (the sensors tick meanwhile: that is the idle stack), sums VmRSS
over serve's descendants and prints each process and the total, serve's own RSS beside it. Stops the
stack with SIGINT, as an operator's Ctrl-C; both databases are dropped afterwards.

    .venv/bin/python benchmarks/stack_memory.py [--idle 60]
"""

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the tests' helpers live in the repository, not in the installed package

from cpu_pipeline_tests.conftest import free_port  # noqa: E402
from cpu_pipeline_tests.postgres import scratch_database  # noqa: E402
from cpu_pipeline_tests.served import fill_app_database  # noqa: E402


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0  # a zombie has no resident set


def descendants(pid: int) -> list[int]:
    """Every live process below `pid` in the process tree."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit():
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                children.setdefault(parent, []).append(int(entry.name))
        except OSError:  # ended meanwhile
            continue
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def command_line(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ").strip()[:110]


def measure(idle: float, server: sa.URL) -> None:
    port = free_port()
    with (
        scratch_database(server, "stack_memory_dagster") as dagster_url,
        scratch_database(server, "stack_memory_app") as app_url,
        tempfile.NamedTemporaryFile("w+", suffix=".log") as log,
    ):
        fill_app_database(app_url)
        env = {**os.environ, "DAGSTER_PG_URL": dagster_url, "DATABASE_URL": app_url, "DAGSTER_PORT": str(port)}
        env["CPU_PIPELINE_CODE_SERVER_PORT"] = str(free_port())  # read by stacks that have a code server of their own
        serving = subprocess.Popen(
            [str(ROOT / ".venv/bin/cpu-pipeline"), "serve"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            deadline = time.monotonic() + 300
            while True:
                try:
                    if requests.get(f"http://127.0.0.1:{port}/server_info", timeout=2).ok:
                        break
                except requests.RequestException:
                    pass
                if serving.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"serve did not serve the UI: {Path(log.name).read_text()[-3000:]}")
                time.sleep(1)
            time.sleep(idle)
            processes = {pid: rss_kib(pid) for pid in descendants(serving.pid)}
            for pid, kib in sorted(processes.items()):
                print(f"{kib / 1024:8.1f} MB  {pid:>7}  {command_line(pid)}")
            print(f"{sum(processes.values()) / 1024:8.1f} MB  total of {len(processes)} processes below serve")
            print(f"{rss_kib(serving.pid) / 1024:8.1f} MB  serve itself (pid {serving.pid}), not in the total")
        finally:
            serving.send_signal(signal.SIGINT)
            serving.wait(180)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--idle", type=float, default=60, help="seconds the stack is left idle before measuring (default 60)")
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432/postgres", help="PostgreSQL server to use")
    args = parser.parse_args()
    measure(args.idle, sa.make_url(args.server))


if __name__ == "__main__":
    main()
