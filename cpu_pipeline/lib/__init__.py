"""Building blocks the Dagster domains share: the application database resource, the clock, the
concurrency pool, and the helpers that make metadata readable in the UI."""
