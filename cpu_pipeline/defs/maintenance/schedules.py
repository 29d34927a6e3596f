"""The daily storage maintenance."""

import dagster as dg

from cpu_pipeline.defs.maintenance.jobs import delete_old_runs

# 04:15 UTC: well after the nightly recalculation (CPU_PIPELINE_SCHEDULE_CRON, 02:30 by default) and
# its snapshot have ended, and before the working day.
MAINTENANCE_CRON = "15 4 * * *"


delete_old_runs_daily = dg.ScheduleDefinition(
    name="delete_old_runs_daily",
    job=delete_old_runs,
    cron_schedule=MAINTENANCE_CRON,
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every day at 04:15 UTC, delete the runs past the retention (CPU_PIPELINE_RUN_RETENTION_DAYS) "
    "with their events and compute logs.",
)
