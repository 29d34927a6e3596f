"""What runs the pipeline as a service, outside the Dagster definitions:

- `service.py`: `cpu-pipeline serve`, the webserver and daemon on the production instance.
- `in_flight_runs.py`: the drain: the runs Ctrl-C on `serve` lets finish, then cancels.
- `run_launcher.py`: the instances' run launcher, whose run workers run monitoring can check on.
- `health.py`: `cpu-pipeline health`, for a monitor.
- `migrate.py`: `cpu-pipeline migrate`, backing up and migrating an instance's storage after a Dagster upgrade.
- `storage_schema.py`: whether a storage needs that migration (`serve` and `cpu-pipeline preflight` refuse one that does).
- `launch.py`: launching a recalculation on a running Dagster through GraphQL (Deal Brain's endpoint).
"""
