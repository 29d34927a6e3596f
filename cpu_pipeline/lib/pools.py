"""The concurrency pool every asset runs in.

Both instances limit it to one run at a time (`concurrency.pools` in the embedded instance's
dagster.yaml, at the top level, and the production one's, instances/production/dagster.yaml), so two
recalculations never run at once, however they are launched (the schedule, a job launch, "Materialize
all"), and a snapshot of the history waits for the write-back it copies.

Each asset's decorator names it: Dagster reads a pool from the op that computes the asset, which an
asset spec (and so `Definitions.map_asset_specs` in the root definitions) cannot change.
"""

CPU_METRICS_POOL = "cpu_metrics"
