"""`cpu-pipeline health`: for monitors outside Dagster (a cron job, a Kubernetes probe, Nagios).

Healthy when every daemon the instance needs has sent a heartbeat recently (a dead daemon evaluates
no schedule and no sensor, so nothing inside Dagster can report it) and a recalculation has written
the `cpu` table within the freshness window (CPU_PIPELINE_FRESHNESS_WINDOW_SECONDS).
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # Dagster is imported when a check runs: `cpu-pipeline --help` stays fast
    import dagster as dg

# How much older than Dagster's heartbeat interval (30 s) a heartbeat may be: a daemon busy for a
# minute under load is not dead.
DEFAULT_HEARTBEAT_TOLERANCE_SECONDS = 90


@dataclass
class Health:
    """What the check found; times are seconds since the epoch, None when there never was one."""

    now: float
    last_heartbeat: float | None
    daemon_alive: bool
    last_write_back: float | None
    fresh: bool
    problems: list[str] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return not self.problems

    def line(self) -> str:
        """One line for a human: OK or FAIL, then what was found."""
        if self.problems:
            return "FAIL: " + "; ".join(self.problems)
        return (
            f"OK: daemon heartbeat {self._age(self.last_heartbeat)} ago; "
            f"last write-back of the cpu table {_when(self.last_write_back)} ({self._age(self.last_write_back)} ago)"
        )

    def as_json(self) -> dict:
        return {
            "healthy": self.healthy,
            "daemon": {"alive": self.daemon_alive, "last_heartbeat": _when(self.last_heartbeat)},
            "recalculation": {"fresh": self.fresh, "last_write_back": _when(self.last_write_back)},
            "problems": self.problems,
        }

    def _age(self, then: float | None) -> timedelta:
        return timedelta(seconds=round(self.now - then)) if then is not None else timedelta(0)


def _when(timestamp: float | None) -> str | None:
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds") if timestamp is not None else None


def check_health(
    instance: "dg.DagsterInstance",
    freshness_window_seconds: float,
    heartbeat_tolerance_seconds: float = DEFAULT_HEARTBEAT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> Health:
    """The health of the instance's daemon and of the recalculation, at `now` (default: the current time)."""
    from dagster._daemon.controller import DEFAULT_HEARTBEAT_INTERVAL_SECONDS, get_daemon_statuses

    from cpu_pipeline.defs.alerts.staleness import WRITE_BACK

    now = datetime.now(UTC).timestamp() if now is None else now
    statuses = get_daemon_statuses(
        instance,
        instance.get_required_daemon_types(),
        curr_time_seconds=now,
        ignore_errors=True,  # a daemon that logged an error is alive; the alerts report failed runs
        heartbeat_interval_seconds=DEFAULT_HEARTBEAT_INTERVAL_SECONDS,
        heartbeat_tolerance_seconds=heartbeat_tolerance_seconds,
    )
    heartbeats = [status.last_heartbeat.timestamp for status in statuses.values() if status.last_heartbeat]
    latest = instance.get_latest_materialization_event(WRITE_BACK)
    health = Health(
        now=now,
        last_heartbeat=min(heartbeats) if len(heartbeats) == len(statuses) else None,
        daemon_alive=all(status.healthy for status in statuses.values()),
        last_write_back=latest.timestamp if latest else None,
        fresh=latest is not None and now - latest.timestamp <= freshness_window_seconds,
    )
    if not health.daemon_alive:
        limit = DEFAULT_HEARTBEAT_INTERVAL_SECONDS + heartbeat_tolerance_seconds
        since = f"since {_when(health.last_heartbeat)}" if health.last_heartbeat else "none ever"
        health.problems.append(f"the Dagster daemon has sent no heartbeat within {limit:g} s ({since})")
    if not health.fresh:
        since = f"since {_when(health.last_write_back)}" if health.last_write_back else "none ever"
        health.problems.append(
            f"no recalculation has written the cpu table within {timedelta(seconds=freshness_window_seconds)} ({since})"
        )
    return health
