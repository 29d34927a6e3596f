"""`run_console`: a known cause said once, in one line, an unknown error told whole."""

import logging
from types import SimpleNamespace

from cpu_pipeline.ops import run_console


def _error(cls_name: str, message: str, cause=None) -> SimpleNamespace:
    """The shape Dagster records an error in (SerializableErrorInfo): class name, message, cause."""
    return SimpleNamespace(cls_name=cls_name, message=message, cause=cause, to_string=lambda: f"{message}\n\nStack Trace:\n  x")


# The chain Dagster records for a load that exhausted its retries (as test_faults' unreachable database shows).
UNREACHABLE = _error(
    "DatabaseUnavailable",
    "cpu_pipeline.database.engine.DatabaseUnavailable: the database server at h:5432 refuses connections: start it\n",
)
RETRIED = _error(
    "DagsterExecutionStepExecutionError",
    'dagster._core.errors.DagsterExecutionStepExecutionError: Error occurred while executing op "cpus":\n',
    _error("RetryRequested", "Exceeded max_retries of 3\n", UNREACHABLE),
)
BUG = _error("DagsterExecutionStepExecutionError", "Error occurred while executing op", _error("KeyError", "KeyError: 'x'"))


def test_a_reason_is_told_from_its_root_and_dagsters_wrappers_are_left_out():
    assert run_console.failure_reason(RETRIED) == (
        "DatabaseUnavailable: the database server at h:5432 refuses connections: start it\n"
        "RetryRequested: Exceeded max_retries of 3"
    )


def test_a_known_cause_is_its_message_alone_saying_when_retries_did_not_help():
    assert run_console.known_cause(RETRIED) == (
        "the database server at h:5432 refuses connections: start it (still so after the step's retries)"
    )
    missing = _error("MissingDatabase", "cpu_pipeline.database.engine.MissingDatabase: the SQLite database /x does not exist")
    assert run_console.known_cause(missing) == "the SQLite database /x does not exist"  # a subclass of a known error
    assert run_console.known_cause(BUG) is None


def _failure(step_key: str, error) -> SimpleNamespace:
    return SimpleNamespace(is_step_failure=True, step_key=step_key, step_failure_data=SimpleNamespace(error=error))


def test_the_summary_says_each_cause_once_with_the_steps_it_failed():
    other = SimpleNamespace(is_step_failure=False)
    events = [_failure("cpus", RETRIED), other, _failure("listing_figures", RETRIED), _failure("x", BUG)]
    assert run_console.failure_summary(events) == [
        "failed: cpus, listing_figures: the database server at h:5432 refuses connections: start it "
        "(still so after the step's retries)",
        "failed: x: KeyError: 'x'",
    ]


def _record(error) -> logging.LogRecord:
    data = SimpleNamespace(error=error)
    message = 'recalculate_cpu_metrics - cpus - STEP_FAILURE - Execution of step "cpus" failed.'
    record = logging.makeLogRecord({"msg": f"{message}\n\n{error.to_string()}"})
    record.dagster_meta = {"dagster_event": SimpleNamespace(event_specific_data=data)}
    return record


def test_the_console_cuts_the_traceback_of_a_known_cause_only():
    known, unknown = _record(RETRIED), _record(BUG)
    assert run_console._without_known_traceback(known) and run_console._without_known_traceback(unknown)
    assert known.msg == 'recalculate_cpu_metrics - cpus - STEP_FAILURE - Execution of step "cpus" failed.'
    assert unknown.msg.endswith("Stack Trace:\n  x")
