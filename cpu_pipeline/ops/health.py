"""`cpu-pipeline health`: for monitors outside Dagster (a cron job, a Kubernetes probe, Nagios).

Healthy when every daemon the instance needs has sent a heartbeat recently (a dead daemon evaluates
no schedule and no sensor, so nothing inside Dagster can report it), a recalculation has written
the `cpu` table within the freshness window (CPU_PIPELINE_FRESHNESS_WINDOW_SECONDS), and no running
sensor or schedule has failed CPU_PIPELINE_TICK_FAILURES_BEFORE_ALERT ticks in a row (3): the same rule
as the `ticks_failing` alert, so that a monitor outside Dagster sees it too when no webhook is set, or
when the sensor that alerts on it is the one failing. A single failed tick is reported, not unhealthy:
the next one may well succeed. Each sensor's and schedule's last tick is reported either way.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # Dagster is imported when a check runs: `cpu-pipeline --help` stays fast
    import dagster as dg

    from cpu_pipeline.lib.instigator_ticks import TickHistory

# How much older than Dagster's heartbeat interval (30 s) a heartbeat may be: a daemon busy for a
# minute under load is not dead.
DEFAULT_HEARTBEAT_TOLERANCE_SECONDS = 90
# CPU_PIPELINE_TICK_FAILURES_BEFORE_ALERT's default, for a caller without settings.
DEFAULT_TICK_FAILURES = 3


@dataclass
class Health:
    """What the check found; times are seconds since the epoch, None when there never was one."""

    now: float
    last_heartbeat: float | None
    daemon_alive: bool
    last_write_back: float | None
    fresh: bool
    ticks: list["TickHistory"] = field(default_factory=list)  # every sensor and schedule, by kind and name
    problems: list[str] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return not self.problems

    def line(self) -> str:
        """One line for a human: OK or FAIL, then what was found."""
        if self.problems:
            return "FAIL: " + "; ".join(self.problems) + self._last_ticks()
        return (
            f"OK: daemon heartbeat {self._age(self.last_heartbeat)} ago; "
            f"last write-back of the cpu table {_when(self.last_write_back)} ({self._age(self.last_write_back)} ago)"
            + self._last_ticks()
        )

    def _last_ticks(self) -> str:
        """`; last ticks: alert_on_failed_run SUCCESS 0:00:12 ago, ...`: every sensor and schedule, `none` before its first."""
        if not self.ticks:
            return ""
        shown = [
            f"{tick.name} {tick.last_status} {self._age(tick.last_tick_at)} ago" if tick.last_status else f"{tick.name} none"
            for tick in self.ticks
        ]
        return "; last ticks: " + ", ".join(shown)

    def as_json(self) -> dict:
        return {
            "healthy": self.healthy,
            "daemon": {"alive": self.daemon_alive, "last_heartbeat": _when(self.last_heartbeat)},
            "recalculation": {"fresh": self.fresh, "last_write_back": _when(self.last_write_back)},
            "ticks": [
                {
                    "name": tick.name,
                    "type": tick.kind,
                    "running": tick.running,
                    "last_status": tick.last_status,
                    "last_tick": _when(tick.last_tick_at),
                    "failures_in_a_row": tick.failures_in_a_row,
                    "last_error": tick.last_error,
                }
                for tick in self.ticks
            ],
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
    tick_failures: int = DEFAULT_TICK_FAILURES,
) -> Health:
    """The health of the instance's daemon, of the recalculation and of the sensors' and schedules' ticks,
    at `now` (default: the current time); `tick_failures`: failed ticks in a row that make a running sensor
    or schedule unhealthy (CPU_PIPELINE_TICK_FAILURES_BEFORE_ALERT)."""
    from dagster._daemon.controller import DEFAULT_HEARTBEAT_INTERVAL_SECONDS, get_daemon_statuses

    from cpu_pipeline.defs.alerts.staleness import WRITE_BACK
    from cpu_pipeline.lib.instigator_ticks import instigator_states, tick_history

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
        ticks=[tick_history(instance, state, tick_failures) for state in instigator_states(instance)],
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
    for tick in health.ticks:
        if tick.running and tick.failures_in_a_row >= tick_failures:
            health.problems.append(
                f"the {tick.kind} {tick.name} has failed its last {tick.failures_in_a_row} ticks (last error: {tick.last_error})"
            )
    return health
