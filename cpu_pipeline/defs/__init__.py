"""The Dagster layer, one folder per domain, each a thin declarative shell around
`cpu_pipeline.analytics` and the resources in `cpu_pipeline.lib`:

- `deal_brain/`: Deal Brain's `cpu` and `listing` tables, external assets at the head of the lineage.
- `recalculation/`: load the CPUs and listings, derive the price targets and performance metrics,
  check them, write them back into `cpu`; the job and its nightly schedule.
- `price_history/`: a daily snapshot of what the write-back wrote, and the trends it gives; the job
  and the sensor that runs it after each recalculation.
- `alerts/`: the run status sensors and the webhook they post to.
- `resources.py`: the resources the domains share.

The root `cpu_pipeline/definitions.py` loads this folder and applies the policy common to all of it.
"""
