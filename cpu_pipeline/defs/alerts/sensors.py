"""Alerts: a failed run, an error rate past the gate, a run past its maximum runtime.

Run status sensors (running by default) watch every run on the instance that set out to materialise
this code location's assets, however it was launched (`lib/watched_runs.py`); each alert is logged
and, when ALERT_WEBHOOK_URL is set, POSTed as Slack-compatible JSON. A webhook that fails
is logged and never changes the run's outcome: the sensors run after the run, in the daemon.
They look every CPU_PIPELINE_SENSOR_INTERVAL_SECONDS, so an alert comes at most that long after the run ends;
a canceled run (stopped by an operator, or by `make serve` stopping) is no failure and raises none.
A failed run that Dagster's run retries (`run_retries` in the instance's dagster.yaml) will retry raises
none either: its retry's outcome decides, one alert when it fails too, none when it succeeds.
"""

import dagster as dg
from dagster._core.events import RunFailureReason
from dagster._core.execution.retries import auto_reexecution_should_retry_run
from dagster._core.storage.tags import RETRY_NUMBER_TAG, RUN_FAILURE_REASON_TAG, WILL_RETRY_TAG
from dagster._utils.tags import get_boolean_tag_value

from cpu_pipeline import settings
from cpu_pipeline.defs.alerts.resources import AlertWebhook

# The module, not the job: Dagster collects every definition a defs module holds at its top level.
from cpu_pipeline.defs.maintenance import jobs as maintenance
from cpu_pipeline.defs.recalculation.checks import ERROR_RATE
from cpu_pipeline.lib.watched_runs import assets_targeted

MAX_RUNTIME_MARKER = "Exceeded maximum runtime"


def will_be_retried(instance: dg.DagsterInstance, run: dg.DagsterRun) -> bool:
    """True when Dagster's run retries will launch a retry of the failed `run`.

    Dagster 1.13 tags a failed run `dagster/will_retry` (true or false) when run retries are enabled, as
    it stores the run's failure event (`EventMethods.handle_new_event`): after the event and the run's
    status, so a sensor can read the failure before the tag. Without the tag the answer is computed as
    Dagster's retry daemon computes it then (`auto_run_reexecution.should_retry`, through
    `auto_reexecution_should_retry_run`): from the instance's `run_retries` settings, the run's failure
    reason (`dagster/failure_reason`, stored with its status) and how many runs its run group holds.
    """
    tag = run.tags.get(WILL_RETRY_TAG)
    if tag is not None:
        return get_boolean_tag_value(tag, default_value=False)
    if not instance.run_retries_enabled:
        return False
    reason = run.tags.get(RUN_FAILURE_REASON_TAG)
    return auto_reexecution_should_retry_run(instance, run, RunFailureReason(reason) if reason else None)


def build_alert(event: str, summary: str, run: dg.DagsterRun, link: str, error_rate: dict | None = None) -> dict:
    """The JSON message: Slack's `text`, plus the structured fields an on-call tool can route on.

    `error_rate`: the error-rate check's figures (`error_rate_figures`), when the run evaluated it.
    """
    figures = ""
    if error_rate:
        figures = (
            f" Error rate {error_rate['error_rate']:.1%} ({error_rate['cpus_in_error']} of "
            f"{error_rate['cpus_total']} CPUs in error; warn above {error_rate['warn_above']:.0%}, "
            f"fail above {error_rate['fail_above']:.0%})."
        )
    retry = run.tags.get(RETRY_NUMBER_TAG)
    if retry:
        summary += f" on its retry {retry} (the first attempt: run {run.root_run_id[:8]})"
    return {
        "text": f":rotating_light: cpu_pipeline {run.job_name}: {summary}.{figures} <{link}|Run {run.run_id[:8]}>",
        "event": event,
        "run_id": run.run_id,
        "job": run.job_name,
        "what_happened": summary,
        "run_url": link,
        **({"retry_number": int(retry), "first_run_id": run.root_run_id} if retry else {}),
        **({key: error_rate[key] for key in ("error_rate", "cpus_in_error", "cpus_total")} if error_rate else {}),
    }


def error_rate_evaluation(instance: dg.DagsterInstance, run_id: str) -> dg.AssetCheckEvaluation | None:
    for record in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION):
        evaluation = record.dagster_event.event_specific_data
        if evaluation.check_name == ERROR_RATE:
            return evaluation
    return None


def error_rate_figures(evaluation: dg.AssetCheckEvaluation) -> dict:
    """The error-rate check's metadata as plain values: the rate, the counts and both thresholds."""
    return {key: value.value for key, value in evaluation.metadata.items()}


@dg.run_failure_sensor(
    monitor_all_code_locations=True,
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=settings.current().sensor_interval_seconds,
    description="Alerts, once, when a run of the pipeline's assets fails, by the error gate, its maximum runtime, "
    "or a crash, however it was launched (the UI, GraphQL, the schedule, the command line); for a run that "
    "Dagster will retry, only when the retry fails too; and when the storage maintenance (`delete_old_runs`, "
    "no asset) fails.",
)
def alert_on_failed_run(context: dg.RunFailureSensorContext, alert_webhook: AlertWebhook) -> dg.SkipReason | None:
    # Read again: the tags as they are now, `dagster/will_retry` included (will_be_retried).
    run = context.instance.get_run_by_id(context.dagster_run.run_id) or context.dagster_run
    if not assets_targeted(context) and run.job_name != maintenance.delete_old_runs.name:
        return dg.SkipReason(f"run {run.run_id} ({run.job_name}) targets none of this code location's assets")
    if will_be_retried(context.instance, run):
        return dg.SkipReason(f"run {run.run_id} ({run.job_name}) failed and will be retried: its retry's outcome decides")
    message = context.failure_event.message or ""
    evaluation = error_rate_evaluation(context.instance, run.run_id)
    if MAX_RUNTIME_MARKER in message:
        event, summary = "max_runtime_exceeded", f"the run exceeded its maximum runtime and was stopped ({message.strip()})"
    elif evaluation and not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR:
        event, summary = "error_rate_failed", "the error rate is above the failure threshold: nothing was written back"
    else:
        event, summary = "run_failed", "the run failed"
    figures = error_rate_figures(evaluation) if evaluation else None
    alert_webhook.send(build_alert(event, summary, run, alert_webhook.run_link(run.run_id), figures), context.log)


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    monitor_all_code_locations=True,
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=settings.current().sensor_interval_seconds,
    description="Alerts when a successful recalculation, however launched, had an error rate above the warning threshold.",
)
def alert_on_error_rate_warning(context: dg.RunStatusSensorContext, alert_webhook: AlertWebhook) -> None:
    run = context.dagster_run
    evaluation = error_rate_evaluation(context.instance, run.run_id)
    if evaluation is None or evaluation.passed:
        return
    summary = "the error rate is above the warning threshold: CPUs in error kept their previous values"
    alert = build_alert("error_rate_warning", summary, run, alert_webhook.run_link(run.run_id), error_rate_figures(evaluation))
    alert_webhook.send(alert, context.log)
