"""The served stack: `dagster-webserver` and `dagster-daemon run` on the top-level dagster.yaml.

Both run as child processes in sessions of their own, with SIGINT and SIGTERM reset to their
defaults (processes started here may inherit them as ignored), and are stopped by process group.
"""

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from cpu_pipeline import settings
from cpu_pipeline.database.engine import masked


class StackError(RuntimeError):
    """The stack cannot start; the message says what to set or fix."""


def check_dagster_pg_url(url: str | None) -> None:
    """Fail at once, clearly, when Dagster's PostgreSQL storage is not configured or not reachable."""
    if not url:
        raise StackError(
            "DAGSTER_PG_URL is not set: the served stack keeps Dagster's runs, events and schedules in PostgreSQL.\n"
            "Set it, e.g. DAGSTER_PG_URL=postgresql://postgres@127.0.0.1:5432/dagster, "
            "or use `make dev` for the embedded instance that needs no server."
        )
    try:
        engine = sa.create_engine(url, connect_args={"connect_timeout": 5})
        with engine.connect():
            pass
        engine.dispose()
    except Exception as error:  # any driver or URL error means the same thing to the operator
        reason = str(error).splitlines()[0].replace(url, masked(url))
        raise StackError(f"Cannot reach Dagster's PostgreSQL at {masked(url)}: {reason}") from None


def _reset_signals() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


@dataclass
class Stack:
    """The running webserver and daemon."""

    port: int
    host: str = "127.0.0.1"
    processes: list[subprocess.Popen] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def stop(self, timeout: float = 20) -> None:
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
) -> Stack:
    """Start the webserver (on `host`:`port`, loopback unless told otherwise) and the daemon for
    the workspace in `root`."""
    bin_dir = Path(sys.executable).parent
    child_env = {**os.environ, **(env or {}), "DAGSTER_HOME": str(dagster_home)}
    stack = Stack(port, host)
    commands = {
        "webserver": [str(bin_dir / "dagster-webserver"), "-h", host, "-p", str(port), "-w", "workspace.yaml"],
        "daemon": [str(bin_dir / "dagster-daemon"), "run", "-w", "workspace.yaml"],
    }
    for name, command in commands.items():
        output = open(log_dir / f"{name}.log", "w") if log_dir else None
        stack.processes.append(
            subprocess.Popen(
                command,
                cwd=root,
                env=child_env,
                preexec_fn=_reset_signals,
                start_new_session=True,
                stdout=output,
                stderr=subprocess.STDOUT if output else None,
            )
        )
    return stack


def serve(root: Path, port: int, host: str = "127.0.0.1", configured: settings.Settings | None = None) -> int:
    """Run the stack in the foreground until Ctrl-C, SIGTERM, or one of its processes exits.

    `configured`: the settings the command started with; read from the environment now when not given.
    """
    check_dagster_pg_url((configured or settings.read()).dagster_pg_url)
    if not (root / "dagster.yaml").exists() or not (root / "workspace.yaml").exists():
        raise StackError(f"{root} holds no dagster.yaml and workspace.yaml: run `make serve` from the repository root.")
    stack = start(root, dagster_home=root, port=port, host=host)
    print(f"Dagster UI on {stack.url} (dagster.yaml in {root}); Ctrl-C stops the webserver and the daemon.")

    def stop_on_signal(signum, _frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, stop_on_signal)
    signal.signal(signal.SIGTERM, stop_on_signal)
    try:
        while all(process.poll() is None for process in stack.processes):
            time.sleep(0.5)
        return 1  # a process died on its own: its output above says why
    except KeyboardInterrupt:
        return 0
    finally:
        stack.stop()
