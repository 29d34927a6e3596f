"""The served stack: one code server (`dagster api grpc`), `dagster-webserver` and `dagster-daemon run`
on the production instance, instances/production/dagster.yaml; the webserver and the daemon load the code
location from the code server (instances/production/workspace.yaml), and its run workers are its children.

Each runs as a child process in a session of its own, with SIGINT and SIGTERM reset to their defaults
(processes started here may inherit them as ignored), and is stopped by process group. On Linux each
also gets SIGTERM when the process that started it dies, however it dies (SIGKILL included).

`serve` restarts a process that dies (`Supervisor`: after 1, 2, 4, 8 s), which touches no run in
progress; a process that dies a fifth time within five minutes makes it give up: one line naming it,
an alert through ALERT_WEBHOOK_URL, then the stop below, and exit status 1.

Ctrl-C (or SIGTERM) on `serve` stops the webserver and the daemon first, so nothing more is launched,
lets the runs in progress finish for CPU_PIPELINE_STOP_GRACE_SECONDS, cancels those left through
Dagster's termination (`in_flight_runs.py`), then stops every process; its last line says what became of
each run. Dagster logs at DAGSTER_LOG_LEVEL (warning: nothing for a sensor tick that did nothing).
"""

import ctypes
import os
import signal
import socket
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


# The code location's name: launch.LOCATION, which Deal Brain's launch names (not imported: it would
# load Dagster's GraphQL client into serve's process, 10 MB; a test keeps the two the same).
LOCATION = "cpu_pipeline.definitions"
# The processes of the stack, in the order they start: the webserver and the daemon load the code
# location from the code server (instances/production/workspace.yaml's `grpc_server`).
CODE_SERVER, WEBSERVER, DAEMON = "code server", "webserver", "daemon"
# A process that dies is restarted after these delays: 1 s after its first death within the window,
# 2 s after its second, and so on; one more death within the window stops the stack (it would only
# keep dying: a broken configuration, a database gone, no memory left).
RESTART_DELAYS_SECONDS = (1, 2, 4, 8)
DEATH_WINDOW_SECONDS = 300


def _how_it_ended(returncode: int) -> str:
    return f"killed by {signal.Signals(-returncode).name}" if returncode < 0 else f"exited with status {returncode}"


@dataclass
class Stack:
    """The running code server, webserver and daemon, each restartable as it was started."""

    port: int
    host: str
    root: Path
    env: dict[str, str]
    log_dir: Path | None
    commands: dict[str, list[str]]
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)  # by name, the current process
    # Every process group started, restarts included: a code server's run workers stay in its group,
    # and outlive it when it dies (the runs go on); the stop ends them wherever they are.
    groups: list[int] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def spawn(self, name: str) -> subprocess.Popen:
        """Start (or restart) process `name`, in a session of its own, dying with this process's main
        thread; its output appends to `name`.log in log_dir, else goes to this process's."""
        output = open(self.log_dir / f"{name.replace(' ', '-')}.log", "a") if self.log_dir else None
        process = subprocess.Popen(
            self.commands[name],
            cwd=self.root,
            env=self.env,
            preexec_fn=_child_setup(os.getpid()),
            start_new_session=True,
            stdout=output,
            stderr=subprocess.STDOUT if output else None,
        )
        if output:
            output.close()  # the child holds its own copy
        self.processes[name] = process
        self.groups.append(process.pid)
        return process

    def stop_launching(self) -> None:
        """SIGTERM to the webserver and the daemon alone, not their process groups: they stop serving,
        scheduling and launching. The code server stays, with the run workers it started, so that the
        runs go on and Dagster can still terminate them through it."""
        for name in (WEBSERVER, DAEMON):
            if name in self.processes and self.processes[name].poll() is None:
                self.processes[name].send_signal(signal.SIGTERM)

    def stop(self, timeout: float = 20) -> None:
        """Stop every process of the stack, run workers included: SIGTERM to each process group, then
        SIGKILL to any process left after `timeout` seconds."""
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for process in self.processes.values():
            try:
                process.wait(max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        # Run workers live in their code server's group, a dead one's included: make sure none is left.
        for group in self.groups:
            try:
                os.killpg(group, signal.SIGKILL)
            except ProcessLookupError:
                pass


def _check_port_free(host: str, port: int) -> None:
    """Raise StackError when `host`:`port` is taken: the webserver and the daemon would load the code
    location from whichever server holds it."""
    with socket.socket() as probe:
        try:
            probe.bind((host, port))
        except OSError as error:
            raise StackError(
                f"the code server's address {host}:{port} is taken ({error.strerror}): another stack or program "
                "listens there. Stop it, or set CPU_PIPELINE_CODE_SERVER_PORT."
            ) from None


def wait_for_code_server(stack: Stack, host: str, port: int, timeout: float = 300) -> None:
    """Poll until the code server listens on `host`:`port`: it does once its code location has loaded
    (and the address was free before it started: `_check_port_free`). Raises StackError when it exits
    first or does not listen within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        process = stack.processes[CODE_SERVER]
        if process.poll() is not None:
            raise StackError(f"the code server {_how_it_ended(process.returncode)} before serving: its output says why.")
        try:
            socket.create_connection((host, port), timeout=5).close()
            return
        except OSError:
            time.sleep(0.5)
    raise StackError(f"the code server did not listen on {host}:{port} within {timeout:.0f} s.")


def stack_commands(
    bin_dir: Path, root: Path, host: str, port: int | str, code_server_host: str, code_server_port: int | str, log_level: str
) -> dict[str, list[str]]:
    """The command line of each process of the stack, by name: the programs in `bin_dir`, the code
    location in `root`, the webserver on `host`:`port`, the code server on `code_server_host`:`code_server_port`.
    (deploy/systemd's units run the same, with the installed paths and their variables; a test compares.)"""
    workspace = str(root / PRODUCTION_INSTANCE / "workspace.yaml")
    return {
        CODE_SERVER: [
            *(str(bin_dir / "dagster"), "api", "grpc", "-m", "cpu_pipeline.definitions", "--location-name", LOCATION),
            *("-d", str(root), "-h", code_server_host, "-p", str(code_server_port), "--log-level", log_level),
        ],
        WEBSERVER: [
            *(str(bin_dir / "dagster-webserver"), "-h", host, "-p", str(port), "-w", workspace),
            *("--dagster-log-level", log_level),
        ],
        DAEMON: [str(bin_dir / "dagster-daemon"), "run", "-w", workspace, "--log-level", log_level],
    }


def start(
    root: Path,
    dagster_home: Path,
    port: int,
    env: dict[str, str] | None = None,
    log_dir: Path | None = None,
    host: str = "127.0.0.1",
    log_level: str = "warning",
    code_server_port: int = int(settings.BY_NAME["CPU_PIPELINE_CODE_SERVER_PORT"].default),
    code_server_host: str = "127.0.0.1",
) -> Stack:
    """Start the code server (on `code_server_host`:`code_server_port`), wait until it serves, then
    the webserver (on `host`:`port`, loopback unless told otherwise) and the daemon, which load the code
    location from it (instances/production/workspace.yaml in `root`), on the instance in `dagster_home`,
    logging at `log_level` (one of settings.LOG_LEVELS); all die with this process's main thread.
    Raises StackError, leaving nothing running, when the code server does not come up."""
    child_env = {
        **os.environ,
        **(env or {}),
        "DAGSTER_HOME": str(dagster_home),
        # The workspace file reads the code server's address from these.
        "CPU_PIPELINE_CODE_SERVER_HOST": code_server_host,
        "CPU_PIPELINE_CODE_SERVER_PORT": str(code_server_port),
    }
    commands = stack_commands(Path(sys.executable).parent, root, host, port, code_server_host, code_server_port, log_level)
    _check_port_free(code_server_host, code_server_port)
    stack = Stack(port, host, root, child_env, log_dir, commands)
    try:
        stack.spawn(CODE_SERVER)
        wait_for_code_server(stack, code_server_host, code_server_port)
    except BaseException:
        stack.stop()
        raise
    stack.spawn(WEBSERVER)
    stack.spawn(DAEMON)
    return stack


def serve(root: Path, port: int, host: str = "127.0.0.1", configured: settings.Settings | None = None) -> int:
    """Run the stack in the foreground until Ctrl-C or SIGTERM, restarting a process that dies (`Supervisor`);
    then stop it, letting the runs in progress finish or canceling them (module docstring), and print a
    last line starting `stack stopped`. Returns 0 when stopped on request, 1 when serve gave up on a process
    that kept dying (after alerting through ALERT_WEBHOOK_URL).

    `configured`: the settings the command started with; read from the environment now when not given.
    Raises StackError, before starting the webserver and the daemon, when a variable it needs is missing,
    Dagster's PostgreSQL cannot be reached, `root` is not the repository root, the storage needs
    `cpu-pipeline migrate`, another daemon runs on the instance, or the code server does not come up.
    """
    configured = configured or settings.read()
    check_required_settings(configured)
    check_dagster_pg_url(configured.dagster_pg_url)
    home = root / PRODUCTION_INSTANCE
    if not (home / "dagster.yaml").exists() or not (home / "workspace.yaml").exists():
        raise StackError(f"{home}/dagster.yaml or {home}/workspace.yaml is missing: run `make serve` in the repository root.")
    with dg.DagsterInstance.from_config(str(home)) as instance:
        if out_of_date := storage_schema.out_of_date(instance, home):
            raise StackError(out_of_date)
        check_no_other_daemon(instance)
        stack = start(
            root,
            dagster_home=home,
            port=port,
            host=host,
            log_level=configured.dagster_log_level,
            code_server_port=configured.code_server_port,
            code_server_host=configured.code_server_host,
        )
        print(
            f"Dagster UI on {stack.url} (instance {home}); Ctrl-C stops the webserver and the daemon, "
            f"letting a run in progress finish for up to {configured.stop_grace_seconds} s.",
            flush=True,
        )
        return _run_until_stopped(stack, instance, configured)


class _PrintedLog:
    """AlertWebhook.send's log for serve: the alert's text repeats the line serve printed; a webhook failure is printed."""

    def error(self, message: str) -> None:
        pass

    def warning(self, message: str) -> None:
        print(message, flush=True)


@dataclass
class Supervisor:
    """Restarts the processes of `stack` that die, each after its backoff (RESTART_DELAYS_SECONDS), and
    says which process gave up: one that died once more than it may within DEATH_WINDOW_SECONDS.

    A restart touches no run: run workers are the code server's children, in its process group, and
    outlive a restart of the webserver or the daemon, and even the code server's death.
    """

    stack: Stack
    deaths: dict[str, list[float]] = field(default_factory=dict)  # by process, when it died (monotonic)
    pending: dict[str, tuple[float, int, str]] = field(default_factory=dict)  # by process: restart at, old pid, how

    def check(self) -> str | None:
        """Restart what is due; None, or the line saying which process died too often."""
        now = time.monotonic()
        for name, process in self.stack.processes.items():
            if name in self.pending or process.poll() is None:
                continue
            recent = [*(died for died in self.deaths.get(name, []) if now - died < DEATH_WINDOW_SECONDS), now]
            self.deaths[name] = recent
            how = _how_it_ended(process.returncode)
            if len(recent) > len(RESTART_DELAYS_SECONDS):
                return f"the {name} died {len(recent)} times within {DEATH_WINDOW_SECONDS} s, the last time {how}"
            self.pending[name] = (now + RESTART_DELAYS_SECONDS[len(recent) - 1], process.pid, how)
        for name, (due, old_pid, how) in list(self.pending.items()):
            if now >= due:
                del self.pending[name]
                process = self.stack.spawn(name)
                deaths = len(self.deaths[name])
                print(
                    f"the {name} (pid {old_pid}) {how}: restarted it as pid {process.pid} after "
                    f"{RESTART_DELAYS_SECONDS[deaths - 1]} s ({deaths} death(s) within {DEATH_WINDOW_SECONDS} s; "
                    f"serve gives up at {len(RESTART_DELAYS_SECONDS) + 1}).",
                    flush=True,
                )
        return None


def _give_up(reason: str, configured: settings.Settings) -> None:
    """Print the line saying why serve stops the stack, and alert through the webhook."""
    # Imported here, when needed: serve's own process stays small the rest of the time.
    from cpu_pipeline.defs.alerts.resources import AlertWebhook, alert_message

    summary = f"serve gave up: {reason}; it stops the stack and exits 1"
    print(f"{summary}.", flush=True)
    webhook = AlertWebhook(url=configured.alert_webhook_url, ui_base_url=configured.ui_base_url)
    webhook.send(alert_message("stack_gave_up", summary, webhook.ui_base_url, "Dagster UI"), _PrintedLog())


def _run_until_stopped(stack: Stack, instance: dg.DagsterInstance, configured: settings.Settings) -> int:
    def stop_on_signal(signum, _frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, stop_on_signal)
    signal.signal(signal.SIGTERM, stop_on_signal)
    endings: list[in_flight_runs.Ending] = []
    supervisor = Supervisor(stack)
    try:
        try:
            while (gave_up := supervisor.check()) is None:
                time.sleep(0.5)
            code, why = 1, f"as {gave_up}"
            _give_up(gave_up, configured)
        except KeyboardInterrupt:
            code, why = 0, "on request"
        # Either way, as on Ctrl-C: nothing more is launched, the runs in progress may finish.
        stack.stop_launching()
        endings = in_flight_runs.drain(instance, configured.stop_grace_seconds)
    except KeyboardInterrupt:  # a second Ctrl-C during the drain: stop now
        pass
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
