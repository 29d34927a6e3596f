"""The runs in flight when the served stack stops: each is let finish within a grace period, then
canceled through Dagster's own termination, so that it ends SUCCESS, FAILURE on its own merits, or
CANCELED, never FAILURE for a worker killed under it (run monitoring's "interrupted unexpectedly",
which the failure alert reports).

The daemon has stopped launching by then (`service.Stack.stop_launching`): a queued run stays queued
for the next start. Dagster terminates a run through the code server that started its worker, which
stays up while any run it started is in flight; a run whose worker does not answer is marked CANCELED
here once its processes are gone (`mark_canceled`).
"""

import time
from dataclasses import dataclass

import dagster as dg
from dagster._core.storage.tags import GRPC_INFO_TAG  # where Dagster's termination finds a run's code server

# Started and not finished: a worker is (or is about to be) working on the run.
IN_FLIGHT = [dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING]
# How long a terminated run gets to stop its step and report CANCELED.
CANCEL_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class Ending:
    """What became of one run that was in flight when the stack stopped."""

    run_id: str
    status: dg.DagsterRunStatus | None  # its status at the end; None while it is still in flight
    canceled_here: bool = False  # its worker did not answer the termination: marked CANCELED by `mark_canceled`

    def __str__(self) -> str:
        if self.canceled_here:
            return f"run {self.run_id[:8]} CANCELED (its worker did not answer; stopped with the stack)"
        return f"run {self.run_id[:8]} {self.status.value if self.status else 'still in flight'}"


def in_flight(instance: dg.DagsterInstance) -> list[str]:
    """The ids of the runs on `instance` that a code server started and that have not finished (STARTING,
    STARTED or CANCELING). A run some command executes in its own process on the same instance
    (`dagster job execute`) carries no code server and is that command's, not the stack's."""
    runs = instance.get_runs(filters=dg.RunsFilter(statuses=IN_FLIGHT))
    return [run.run_id for run in runs if GRPC_INFO_TAG in run.tags]


def queued(instance: dg.DagsterInstance) -> int:
    """How many runs wait in the queue (they are launched when the daemon next runs)."""
    return len(instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.QUEUED])))


def _wait(instance: dg.DagsterInstance, run_ids: list[str], seconds: float) -> list[str]:
    """Poll until none of `run_ids` is in flight or `seconds` have passed; the ids still in flight.

    A Ctrl-C while waiting ends the wait early (the operator asks again: stop now), never the stop.
    """
    deadline = time.monotonic() + seconds
    left = run_ids
    try:
        while left and time.monotonic() < deadline:
            time.sleep(0.5)
            left = [run_id for run_id in left if instance.get_run_by_id(run_id).status in IN_FLIGHT]
    except KeyboardInterrupt:
        pass
    return [run_id for run_id in left if instance.get_run_by_id(run_id).status in IN_FLIGHT]


def drain(instance: dg.DagsterInstance, grace_seconds: float, cancel_timeout: float = CANCEL_TIMEOUT_SECONDS) -> list[Ending]:
    """Let the runs in flight finish for up to `grace_seconds`, then terminate those left (Dagster's
    `run_launcher.terminate`, as the UI's Terminate button does) and wait up to `cancel_timeout` seconds
    for them to end CANCELED. Prints one line when there is anything to wait for.

    Returns one Ending per run that was in flight; status None for a run still in flight after both
    waits (for `mark_canceled`, once its processes are stopped).
    """
    started = in_flight(instance)
    if not started:
        return []
    print(
        f"Waiting up to {grace_seconds:.0f} s for {len(started)} run(s) in progress to finish "
        "(CPU_PIPELINE_STOP_GRACE_SECONDS); Ctrl-C again cancels them now.",
        flush=True,
    )
    left = _wait(instance, started, grace_seconds)
    for run_id in left:
        try:
            instance.run_launcher.terminate(run_id)
        except Exception as error:  # a code server gone or refusing: `mark_canceled` still ends the run
            print(f"run {run_id[:8]}: Dagster could not terminate it ({type(error).__name__}); it is canceled here", flush=True)
    if left:
        _wait(instance, left, cancel_timeout)
    endings = []
    for run_id in started:
        status = instance.get_run_by_id(run_id).status
        endings.append(Ending(run_id, None if status in IN_FLIGHT else status))
    return endings


def mark_canceled(instance: dg.DagsterInstance, endings: list[Ending]) -> list[Ending]:
    """Report CANCELED each run `drain` left in flight: call it once the stack's processes, the run
    workers included, are gone, so that no worker writes after it. Returns the endings, updated."""
    final = []
    for ending in endings:
        run = instance.get_run_by_id(ending.run_id)
        if ending.status is None and run.status in IN_FLIGHT:
            instance.report_run_canceled(run, message="Canceled as `make serve` stopped: its worker did not answer")
            ending = Ending(ending.run_id, dg.DagsterRunStatus.CANCELED, canceled_here=True)
        elif ending.status is None:
            ending = Ending(ending.run_id, run.status)
        final.append(ending)
    return final
