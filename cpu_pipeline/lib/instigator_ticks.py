"""How the sensors' and schedules' ticks went, as the instance stores them: for the alert on failing ticks
(`defs/alerts/failing_ticks.py`) and `cpu-pipeline health`.

The daemon stores an instigator state for every sensor and schedule it evaluates (one running by default
gets one at its first tick) and a tick for each evaluation: STARTED while it runs, then SUCCESS, SKIPPED
(it ran and had nothing to do) or FAILURE (it raised, or its code server could not be reached). Ticks
are counted from storage, newest first; Dagster's tick retention only ever removes old ones.
"""

from dataclasses import dataclass

import dagster as dg
from dagster._core.scheduler.instigation import InstigatorState, InstigatorType, TickStatus

FINISHED = [TickStatus.SUCCESS, TickStatus.SKIPPED, TickStatus.FAILURE]
GOOD = [TickStatus.SUCCESS, TickStatus.SKIPPED]


@dataclass(frozen=True)
class TickHistory:
    """One sensor's or schedule's recent ticks.

    `failures_in_a_row`: FAILURE ticks since its last good one (SUCCESS or SKIPPED), counted up to the
    limit asked for; `newest_failure_id` and `newest_good_id`: the ids of those ticks (None: none stored),
    which only grow; `last_status` and `last_tick_at` (seconds since the epoch): its newest finished tick;
    `last_error`: that tick's error, its first line, when it failed.
    """

    kind: str  # "sensor" or "schedule"
    name: str
    running: bool
    failures_in_a_row: int
    newest_failure_id: int | None
    newest_good_id: int | None
    last_status: str | None
    last_tick_at: float | None
    last_error: str | None

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.name}"


def _kind(state: InstigatorState) -> str:
    return "schedule" if state.instigator_type == InstigatorType.SCHEDULE else "sensor"


def tick_history(instance: dg.DagsterInstance, state: InstigatorState, limit: int) -> TickHistory:
    """The ticks of the instigator `state` names, failures counted up to `limit` (two indexed queries)."""
    recent = instance.get_ticks(state.instigator_origin_id, state.selector_id, limit=limit, statuses=FINISHED)
    good = instance.get_ticks(state.instigator_origin_id, state.selector_id, limit=1, statuses=GOOD)
    failing = []
    for tick in recent:
        if tick.status != TickStatus.FAILURE:
            break
        failing.append(tick)
    last = recent[0] if recent else None
    error = last.error.message.strip().splitlines()[0] if last and last.error and last.error.message.strip() else None
    return TickHistory(
        kind=_kind(state),
        name=state.instigator_name,
        running=state.is_running,
        failures_in_a_row=len(failing),
        newest_failure_id=failing[0].tick_id if failing else None,
        newest_good_id=good[0].tick_id if good else None,
        last_status=last.status.value if last else None,
        last_tick_at=last.timestamp if last else None,
        last_error=error,
    )


def instigator_states(
    instance: dg.DagsterInstance, repository_name: str | None = None, location_name: str | None = None
) -> list[InstigatorState]:
    """The sensors' and schedules' states on the instance (those of one repository, and of one code
    location, when named), sorted by kind and name; auto-materialize and other instigators left out."""
    states = [
        state
        for state in instance.all_instigator_state()
        if state.instigator_type in (InstigatorType.SENSOR, InstigatorType.SCHEDULE)
        and repository_name in (None, state.repository_selector.repository_name)
        and location_name in (None, state.repository_selector.location_name)
    ]
    return sorted(states, key=lambda state: (_kind(state), state.instigator_name))
