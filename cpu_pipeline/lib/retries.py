"""The one retry of every asset that reads the application database: a read that cannot reach it for a
reason that can pass (`DatabaseUnavailable`: refused, lost, shutting down) is retried; a mistake in the
URL or the grants (`DatabaseRefused`: unknown host, missing database, wrong password, no privilege) and
data and schema errors are never retried (a retry would fail the same way)."""

from collections.abc import Callable
from typing import TypeVar

import dagster as dg

from cpu_pipeline.database.engine import DatabaseUnavailable

# Retried this many times, waiting 1, 2, 4 s: enough for a failover or a restart, without a storm of connections.
LOAD_RETRIES = 3

T = TypeVar("T")


def read_retrying(context: dg.AssetExecutionContext, read: Callable[[], T]) -> T:
    """`read()`'s result; when it raises DatabaseUnavailable, a warning and dagster.RetryRequested
    (the step runs again after 2**attempt s, at most LOAD_RETRIES times, then fails with that error)."""
    try:
        return read()
    except DatabaseUnavailable as error:
        context.log.warning(f"{error} (attempt {context.retry_number + 1} of {LOAD_RETRIES + 1})")
        raise dg.RetryRequested(max_retries=LOAD_RETRIES, seconds_to_wait=2**context.retry_number) from error
