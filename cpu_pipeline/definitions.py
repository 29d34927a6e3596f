"""The code location: `dagster dev -m cpu_pipeline.definitions`, or `dg dev` from the repository root."""

import dagster as dg

from cpu_pipeline.defs import assets, price_history
from cpu_pipeline.defs.alerts import alert_on_error_rate_warning, alert_on_failed_run, alert_webhook
from cpu_pipeline.defs.jobs import recalculate_cpu_metrics
from cpu_pipeline.defs.resources import Clock, app_database
from cpu_pipeline.defs.schedules import recalculate_cpu_metrics_nightly

defs = dg.Definitions(
    assets=dg.load_assets_from_modules([assets, price_history]),
    jobs=[recalculate_cpu_metrics, price_history.snapshot_cpu_price_history],
    schedules=[recalculate_cpu_metrics_nightly],
    sensors=[alert_on_failed_run, alert_on_error_rate_warning, price_history.snapshot_after_recalculation],
    resources={"app_database": app_database(), "alert_webhook": alert_webhook(), "clock": Clock()},
    # The steps depend on one another and run in turn anyway: one process saves each step's start-up.
    executor=dg.in_process_executor,
)
