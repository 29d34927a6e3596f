"""The served stack: `dagster-webserver` and `dagster-daemon run` on the production instance,
instances/production/dagster.yaml.

Both run as child processes in sessions of their own, with SIGINT and SIGTERM reset to their
defaults (processes started here may inherit them as ignored), and are stopped by process group.
On Linux they also get SIGTERM when the process that started them dies, however it dies (SIGKILL
included), and shut down their code servers as on Ctrl-C.

Ctrl-C (or SIGTERM) on `serve` stops the webserver and the daemon first, so nothing more is launched,
lets the runs in progress finish for CPU_PIPELINE_STOP_GRACE_SECONDS, cancels those left through
Dagster's termination (`in_flight_runs.py`), then stops every process; its last line says what became of
each run. Dagster logs at DAGSTER_LOG_LEVEL (warning: nothing for a sensor tick that did nothing).
"""

import ctypes
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import sqlalchemy as sa
from dagster._daemon.controller import DEFAULT_HEARTBEAT_INTERVAL_SECONDS

from cpu_pipeline import settings
from cpu_pipeline.database.engine import explain
from cpu_pipeline.ops import in_flight_runs, storage_schema

# The production instance's folder (its DAGSTER_HOME), relative to the repository root.
PRODUCTION_INSTANCE = Path("instances/production")
# prctl(2)'s option that sets the signal a process gets when its parent dies (<linux/prctl.h>).
_PR_SET_PDEATHSIG = 1
# Loaded before any fork: a child between fork and exec should only make the one system call.
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None


class StackError(RuntimeError):
    """The stack cannot start; the message says what to set or fix."""


def check_required_settings(configured: settings.Settings) -> None:
    """Fail at once, naming each variable the served stack needs and lacks (unset or empty):
    DAGSTER_PG_URL (Dagster's storage) and DATABASE_URL (Deal Brain's database: the embedded demo
    default would have the stack recalculate demo data every night and report success)."""
    missing = []
    if not configured.dagster_pg_url:
        missing.append(
            "DAGSTER_PG_URL is not set: the served stack keeps Dagster's runs, events and schedules in PostgreSQL. "
            "Set it, e.g. DAGSTER_PG_URL=postgresql://postgres@127.0.0.1:5432/dagster."
        )
    if configured.embedded_database:
        missing.append(
            "DATABASE_URL is not set: the served stack recalculates Deal Brain's database, never the embedded demo one. "
            "Set it, e.g. DATABASE_URL=postgresql://dealbrain@db:5432/dealbrain."
        )
    if missing:
        raise StackError("\n".join([*missing, "For the embedded instance and demo data, which need neither, use `make dev`."]))


def check_dagster_pg_url(url: str) -> None:
    """Fail at once, clearly, when Dagster's PostgreSQL storage cannot be reached."""
    try:
        engine = sa.create_engine(url, connect_args={"connect_timeout": 5})
        with engine.connect():
            pass
        engine.dispose()
    except Exception as error:  # any driver or URL error means the same thing to the operator
        raise StackError(f"Cannot reach Dagster's PostgreSQL (DAGSTER_PG_URL): {explain(error, url)}") from None


def check_no_other_daemon(instance: dg.DagsterInstance, interval: float = DEFAULT_HEARTBEAT_INTERVAL_SECONDS) -> None:
    """Raise StackError, naming it, when another dagster-daemon is running on `instance`: two daemons
    launch every scheduled run twice.

    Each of a daemon's threads stores a heartbeat every `interval` seconds (Dagster's 30), and the
    last one stays when the daemon stops. A daemon whose newest heartbeat is over one and a half
    intervals old has stopped; a younger one may have too (a restart), so this waits, saying so, until
    a running daemon would have beaten again (at most that long) and refuses if a heartbeat came.
    """
    before = instance.get_daemon_heartbeats()
    deadline = max((heartbeat.timestamp for heartbeat in before.values()), default=0.0) + interval * 1.5
    if time.time() >= deadline:
        return
    print(f"A dagster-daemon beat lately on this instance: waiting {deadline - time.time():.0f} s for another beat.", flush=True)
    while time.time() < deadline:
        for daemon_type, heartbeat in instance.get_daemon_heartbeats().items():
            if daemon_type not in before or heartbeat.timestamp > before[daemon_type].timestamp:
                raise StackError(
                    f"another dagster-daemon (daemon id {heartbeat.daemon_id}) is running on this instance: its "
                    f"{daemon_type} heartbeat came {time.time() - heartbeat.timestamp:.0f} s ago. Stop it first "
                    "(two daemons launch every scheduled run twice)."
                )
        time.sleep(1)


def _child_setup(parent: int):
    """The preexec_fn of the stack's processes: default SIGINT and SIGTERM, and SIGTERM when `parent` dies.

    Linux sends the parent-death signal when the thread that started the child ends: the stack is
    started from the main thread, which ends with the process.
    """

    def setup() -> None:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        if _LIBC is not None:
            _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
            if os.getppid() != parent:  # the parent died before the call: no signal will come
                os._exit(1)

    return setup


@dataclass
class Stack:
    """The running webserver and daemon."""

    port: int
    host: str = "127.0.0.1"
    processes: list[subprocess.Popen] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def stop_launching(self) -> None:
        """SIGTERM to the webserver and the daemon alone, not their process groups: they stop serving,
        scheduling and launching, and ask their code servers to shut down once the runs those started
        have finished, while the run workers go on."""
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)

    def stop(self, timeout: float = 20) -> None:
        """Stop every process of the stack, run workers included: SIGTERM to each process group, then
        SIGKILL to any process left after `timeout` seconds."""
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for process in self.processes:
            try:
                process.wait(max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        # Run workers and code servers the daemon started live in its group: make sure none is left.
        for process in self.processes:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def start(
    root: Path,
    dagster_home: Path,
    port: int,
    env: dict[str, str] | None = None,
    log_dir: Path | None = None,
    host: str = "127.0.0.1",
    log_level: str = "warning",
) -> Stack:
    """Start the webserver (on `host`:`port`, loopback unless told otherwise) and the daemon for
    the workspace in `root`, on the instance in `dagster_home`, logging at `log_level` (one of
    settings.LOG_LEVELS), their code servers too; both die with this process's main thread."""
    levels = ["--code-server-log-level", log_level]
    bin_dir = Path(sys.executable).parent
    child_env = {**os.environ, **(env or {}), "DAGSTER_HOME": str(dagster_home)}
    stack = Stack(port, host)
    commands = {
        "webserver": [
            *(str(bin_dir / "dagster-webserver"), "-h", host, "-p", str(port), "-w", "workspace.yaml"),
            *("--dagster-log-level", log_level, *levels),
        ],
        "daemon": [str(bin_dir / "dagster-daemon"), "run", "-w", "workspace.yaml", "--log-level", log_level, *levels],
    }
    for name, command in commands.items():
        output = open(log_dir / f"{name}.log", "w") if log_dir else None
        stack.processes.append(
            subprocess.Popen(
                command,
                cwd=root,
                env=child_env,
                preexec_fn=_child_setup(os.getpid()),
                start_new_session=True,
                stdout=output,
                stderr=subprocess.STDOUT if output else None,
            )
        )
    return stack


def serve(root: Path, port: int, host: str = "127.0.0.1", configured: settings.Settings | None = None) -> int:
    """Run the stack in the foreground until Ctrl-C, SIGTERM, or one of its processes exits; then stop
    it, on Ctrl-C or SIGTERM letting the runs in progress finish or canceling them (module docstring),
    and print a last line starting `stack stopped`. Returns 0 when stopped so, 1 when a process exited.

    `configured`: the settings the command started with; read from the environment now when not given.
    Raises StackError, before starting anything, when a variable it needs is missing, Dagster's
    PostgreSQL cannot be reached, `root` is not the repository root, the storage needs `cpu-pipeline migrate`,
    or another daemon runs on the instance.
    """
    configured = configured or settings.read()
    check_required_settings(configured)
    check_dagster_pg_url(configured.dagster_pg_url)
    home = root / PRODUCTION_INSTANCE
    if not (home / "dagster.yaml").exists() or not (root / "workspace.yaml").exists():
        raise StackError(f"{home}/dagster.yaml or {root}/workspace.yaml is missing: run `make serve` in the repository root.")
    with dg.DagsterInstance.from_config(str(home)) as instance:
        if out_of_date := storage_schema.out_of_date(instance, home):
            raise StackError(out_of_date)
        check_no_other_daemon(instance)
        stack = start(root, dagster_home=home, port=port, host=host, log_level=configured.dagster_log_level)
        print(
            f"Dagster UI on {stack.url} (instance {home}); Ctrl-C stops the webserver and the daemon, "
            f"letting a run in progress finish for up to {configured.stop_grace_seconds} s.",
            flush=True,
        )
        return _run_until_stopped(stack, instance, configured.stop_grace_seconds)


def _run_until_stopped(stack: Stack, instance: dg.DagsterInstance, grace_seconds: float) -> int:
    def stop_on_signal(signum, _frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, stop_on_signal)
    signal.signal(signal.SIGTERM, stop_on_signal)
    endings: list[in_flight_runs.Ending] = []
    try:
        while all(process.poll() is None for process in stack.processes):
            time.sleep(0.5)
        code, why = 1, "a process exited on its own (its output above says why)"
    except KeyboardInterrupt:
        code, why = 0, "on request"
        stack.stop_launching()
        endings = in_flight_runs.drain(instance, grace_seconds)
    finally:
        # Past this point a Ctrl-C would only leave processes or a run behind: the stop is bounded.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stack.stop()
    endings = in_flight_runs.mark_canceled(instance, endings)
    waiting = in_flight_runs.queued(instance)
    runs = "; ".join(str(ending) for ending in endings) or "no run was in progress"
    queue = f"; {waiting} queued run(s) wait for the next start" if waiting else ""
    print(f"stack stopped {why}: {runs}{queue}.", flush=True)
    return code
