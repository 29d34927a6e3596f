"""Alerts: a failed run, an error rate past the gate, a run past its maximum runtime.

Run status sensors (running by default) watch every run of this code location; each alert is
logged and, when ALERT_WEBHOOK_URL is set, POSTed as Slack-compatible JSON. A webhook that fails
is logged and never changes the run's outcome: the sensors run after the run, in the daemon.
"""

import os
from urllib.parse import urlsplit

import dagster as dg
import requests

from cpu_pipeline.defs.checks import ERROR_RATE

MAX_RUNTIME_MARKER = "Exceeded maximum runtime"


class AlertWebhook(dg.ConfigurableResource):
    """Where alerts go: a Slack-compatible incoming webhook (optional) and the UI's base URL for links."""

    url: str | None = None
    ui_base_url: str = "http://127.0.0.1:3000"
    timeout_seconds: float = 5.0

    def run_link(self, run_id: str) -> str:
        return f"{self.ui_base_url.rstrip('/')}/runs/{run_id}"

    def send(self, alert: dict, log) -> bool:
        """Log the alert and POST it; True when the webhook accepted it (or there is none)."""
        log.error(f"cpu_metrics.alert {alert['text']}")
        if not self.url:
            return True
        # A webhook URL is a secret (Slack's carries its token in the path): only its host is shown.
        where = urlsplit(self.url).netloc
        try:
            response = requests.post(self.url, json=alert, timeout=self.timeout_seconds)
            response.raise_for_status()
        except requests.RequestException as error:
            log.warning(f"cpu_metrics.alert webhook at {where} failed: {type(error).__name__}: "
                        f"{getattr(error.response, 'status_code', '') or 'no response'}")
            return False
        return True


def alert_webhook() -> AlertWebhook:
    return AlertWebhook(
        url=dg.EnvVar("ALERT_WEBHOOK_URL") if os.getenv("ALERT_WEBHOOK_URL") else None,
        ui_base_url=os.getenv("CPU_PIPELINE_UI_BASE_URL", "http://127.0.0.1:3000"),
    )


def build_alert(event: str, summary: str, run: dg.DagsterRun, link: str, gate: dict | None = None) -> dict:
    """The JSON message: Slack's `text`, plus the structured fields an on-call tool can route on."""
    figures = ""
    if gate:
        figures = (f" Error rate {gate['error_rate']:.1%} ({gate['cpus_in_error']} of {gate['cpus_total']} CPUs in error;"
                   f" warn above {gate['warn_above']:.0%}, fail above {gate['fail_above']:.0%}).")
    return {
        "text": f":rotating_light: cpu_pipeline {run.job_name}: {summary}.{figures} <{link}|Run {run.run_id[:8]}>",
        "event": event,
        "run_id": run.run_id,
        "job": run.job_name,
        "what_happened": summary,
        "run_url": link,
        **({"error_rate": gate["error_rate"], "cpus_in_error": gate["cpus_in_error"], "cpus_total": gate["cpus_total"]}
           if gate else {}),
    }


def error_rate_evaluation(instance: dg.DagsterInstance, run_id: str) -> dg.AssetCheckEvaluation | None:
    for record in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION):
        evaluation = record.dagster_event.event_specific_data
        if evaluation.check_name == ERROR_RATE:
            return evaluation
    return None


def _gate_figures(evaluation: dg.AssetCheckEvaluation) -> dict:
    return {key: value.value for key, value in evaluation.metadata.items()}


@dg.run_failure_sensor(default_status=dg.DefaultSensorStatus.RUNNING, minimum_interval_seconds=5,
                       description="Alerts when a recalculation fails, by the error gate, its maximum runtime, or a crash.")
def alert_on_failed_run(context: dg.RunFailureSensorContext, alert_webhook: AlertWebhook) -> None:
    run = context.dagster_run
    message = context.failure_event.message or ""
    gate = error_rate_evaluation(context.instance, run.run_id)
    if MAX_RUNTIME_MARKER in message:
        event, summary = "max_runtime_exceeded", f"the run exceeded its maximum runtime and was stopped ({message.strip()})"
    elif gate and not gate.passed and gate.severity == dg.AssetCheckSeverity.ERROR:
        event, summary = "error_rate_failed", "the error rate is above the failure threshold: nothing was written back"
    else:
        event, summary = "run_failed", "the run failed"
    figures = _gate_figures(gate) if gate else None
    alert_webhook.send(build_alert(event, summary, run, alert_webhook.run_link(run.run_id), figures), context.log)


@dg.run_status_sensor(run_status=dg.DagsterRunStatus.SUCCESS, default_status=dg.DefaultSensorStatus.RUNNING,
                      minimum_interval_seconds=5,
                      description="Alerts when a successful recalculation had an error rate above the warning threshold.")
def alert_on_error_rate_warning(context: dg.RunStatusSensorContext, alert_webhook: AlertWebhook) -> None:
    run = context.dagster_run
    gate = error_rate_evaluation(context.instance, run.run_id)
    if gate is None or gate.passed:
        return
    summary = "the error rate is above the warning threshold: CPUs in error kept their previous values"
    alert = build_alert("error_rate_warning", summary, run, alert_webhook.run_link(run.run_id), _gate_figures(gate))
    alert_webhook.send(alert, context.log)
