"""What `cpu-pipeline run` prints: the run's progress as Dagster logs it, then each cause of failure once.

A failure whose cause the pipeline knows (its own error types, `KNOWN_ERRORS`: a database it cannot reach
or use, a schema it lacks, a bad setting) is said in one line, cause first, then what to do; Dagster's
traceback of it helps no one, and the console logger here (`console_logger`) leaves it out of the
progress. An error the pipeline does not know keeps its traceback, and the run's stored event log keeps
every one (`cpu-pipeline run --verbose` prints them all on the console too).
"""

import logging
import re
from collections.abc import Iterable

import dagster as dg

from cpu_pipeline.database.bulk import SchemaMismatch, WriteBackBusy
from cpu_pipeline.database.engine import DatabaseRefused, DatabaseUnavailable, UnsupportedDatabaseURL
from cpu_pipeline.settings import SettingsError

# Each says its cause and what to do in its message; their subclasses (MissingDatabase) too.
KNOWN_ERRORS = (DatabaseUnavailable, DatabaseRefused, UnsupportedDatabaseURL, SchemaMismatch, WriteBackBusy, SettingsError)


def _subclass_names(cls: type) -> set[str]:
    return {cls.__name__}.union(*(_subclass_names(subclass) for subclass in cls.__subclasses__()))


# A recorded error (Dagster's SerializableErrorInfo) keeps its class by name only.
_KNOWN_NAMES = set().union(*(_subclass_names(cls) for cls in KNOWN_ERRORS))


def _chain(error) -> list:
    """`error` (a SerializableErrorInfo) and what caused it, outermost first."""
    chain = []
    while error is not None:
        chain.append(error)
        error = error.cause
    return chain


def _message(error) -> str:
    # Python's message names the class with its module ("cpu_pipeline.database.bulk.SchemaMismatch: ...").
    return re.sub(rf"^[\w.]*\b{re.escape(error.cls_name)}: ", "", error.message.strip())


def known_cause(error) -> str | None:
    """The one-line cause of a failure (`step_failure_data.error`) whose root is one of KNOWN_ERRORS, e.g.
    `database "x" does not exist on h:5432: correct the database name ...`, with `(still so after the
    step's retries)` when Dagster retried the step; None for any other error."""
    chain = _chain(error)
    if not chain or chain[-1].cls_name not in _KNOWN_NAMES:
        return None
    retried = any(link.cls_name == "RetryRequested" for link in chain)
    return _message(chain[-1]) + (" (still so after the step's retries)" if retried else "")


def failure_reason(error) -> str:
    """Why a step failed, from its error (`step_failure_data.error`, a Dagster SerializableErrorInfo),
    every line of it: the exception at the root of the chain first (`ValueError: ...`), then, one a line,
    what it caused (`RetryRequested: Exceeded max_retries of 3`), Dagster's wrappers left out."""
    # Dagster's wrappers around an exception the pipeline's code raised ("Error occurred while executing op
    # ..."): they say where it happened, which the step key already tells; the exception is the reason.
    wrappers = _subclass_names(dg.DagsterUserCodeExecutionError)
    return "\n".join(f"{link.cls_name}: {_message(link)}" for link in reversed(_chain(error)) if link.cls_name not in wrappers)


def failure_summary(events: Iterable[dg.DagsterEvent]) -> list[str]:
    """One line (more for an unknown error's chain, indented) per cause of the run's failed steps, each
    cause once with the steps it failed: `failed: cpus, listing_figures: database "x" does not exist ...`."""
    steps_by_cause: dict[str, list[str]] = {}
    for event in events:
        if event.is_step_failure:
            error = event.step_failure_data.error
            steps_by_cause.setdefault(known_cause(error) or failure_reason(error), []).append(event.step_key)
    return [f"failed: {', '.join(steps)}: {cause}".replace("\n", "\n  ") for cause, steps in steps_by_cause.items()]


# Where Dagster's log manager puts an event on the record it hands a run's loggers (the key of
# dagster._core.log_manager.LOG_RECORD_METADATA_ATTR), and how it appends the event's error to the
# message (its _error_str_for_event).
_RECORD_METADATA = "dagster_meta"


def _without_known_traceback(record: logging.LogRecord) -> bool:
    """A logger filter: keeps every record, cutting from an event's message the traceback of a known error."""
    event = (getattr(record, _RECORD_METADATA, None) or {}).get("dagster_event")
    data = getattr(event, "event_specific_data", None)
    error = getattr(data, "error", None)
    if error is not None and known_cause(error) is not None:
        shown = getattr(data, "error_display_string", None) or error.to_string()
        record.msg = str(record.msg).removesuffix(f"\n\n{shown}")
    return True


@dg.logger(
    config_schema=dg.colored_console_logger.config_schema,
    description="Dagster's colored console logger, without the tracebacks of the errors the pipeline explains itself.",
)
def console_logger(init_context: dg.InitLoggerContext) -> logging.Logger:
    logger = dg.colored_console_logger.logger_fn(init_context)
    logger.addFilter(_without_known_traceback)
    return logger
