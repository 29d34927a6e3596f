"""What runs the pipeline as a service, outside the Dagster definitions:

- `service.py`: `cpu-pipeline serve`, the webserver and daemon on the production instance.
- `in_flight_runs.py`: the drain: the runs Ctrl-C on `serve` lets finish, then cancels.
- `run_launcher.py`: the instances' run launcher, whose run workers run monitoring can check on.
- `health.py`: `cpu-pipeline health`, for a monitor.
- `launch.py`: launching a recalculation on a running Dagster through GraphQL (Deal Brain's endpoint).
"""
