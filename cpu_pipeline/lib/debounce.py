"""Debouncing a change signal: one run per burst of changes, not one per change.

A trigger evaluated every interval sees a signal (any text that changes when the data does). It
requests a run once the signal differs from the one the last run was requested for and then stays
the same for one interval (the burst has settled), or at the latest `max_wait_seconds` after the first
change of a burst that never settles. While a run is in progress it requests none: the change stays
pending, and is requested at the first evaluation after that run has ended (the run may have read the
data before the change), so one run catches every change made during another. No Dagster here: the
sensor keeps `Debounce` as its cursor.
"""

import json
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Debounce:
    """What the trigger remembers between evaluations.

    `requested`: the signal the last run was requested for (at the first evaluation: the signal then,
    so starting the trigger requests nothing); `previous`: the signal at the previous evaluation;
    `changed_since`: when (seconds since the epoch) an evaluation first saw the signal differ from
    `requested`, None while it does not; `requests`: how many runs were requested, which numbers each
    run's key (a signal can come back to an earlier value, and Dagster launches one run per key).
    """

    requested: str
    previous: str
    changed_since: float | None = None
    requests: int = 0

    @property
    def run_key(self) -> str:
        """The key of the run last requested: its number, then the signal it was requested for."""
        return f"{self.requests}:{self.requested}"

    def to_cursor(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_cursor(cls, cursor: str | None) -> "Debounce | None":
        return cls(**json.loads(cursor)) if cursor else None


def evaluate(
    state: Debounce | None, signal: str, now: float, max_wait_seconds: float, run_in_progress: bool = False
) -> tuple[Debounce, bool]:
    """The state after seeing `signal` at `now` (seconds since the epoch), and whether to request a run;
    never one while `run_in_progress` (a run is queued or running): the change is kept pending."""
    if state is None:
        return Debounce(requested=signal, previous=signal), False
    if signal == state.requested:
        return Debounce(requested=signal, previous=signal, requests=state.requests), False
    changed_since = state.changed_since if state.changed_since is not None else now
    if not run_in_progress and (signal == state.previous or now - changed_since >= max_wait_seconds):
        return Debounce(requested=signal, previous=signal, requests=state.requests + 1), True
    return Debounce(requested=state.requested, previous=signal, changed_since=changed_since, requests=state.requests), False
