"""The nightly recalculation: the assets of the group `cpu_metrics`, their checks, the job
`recalculate_cpu_metrics` and its schedule."""
