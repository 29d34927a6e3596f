"""A sensor or schedule that keeps failing: `ticks_failing` once when one of the code location's sensors
or schedules has failed CPU_PIPELINE_TICK_FAILURES_BEFORE_ALERT ticks in a row (3), and `recovered` when
it ticks again without an error (SUCCESS, or SKIPPED: it ran and had nothing to do).

One alert per streak: the cursor keeps, for each one alerted on, the id of its newest failed tick seen;
a good tick with a higher id ends the streak. The sensor watches every other sensor and schedule of its
code location that is running, never itself: its own failures could not be sent, and its first tick
after them would report a streak already over. `cpu-pipeline health` reports every one's last tick,
this sensor's included.
"""

import json

import dagster as dg

from cpu_pipeline import settings
from cpu_pipeline.defs.alerts.resources import AlertWebhook, alert_message
from cpu_pipeline.lib.instigator_ticks import TickHistory, instigator_states, tick_history

SENSOR_NAME = "alert_on_failing_ticks"


def transition(alerted_since: int | None, history: TickHistory, threshold: int) -> tuple[int | None, list[str]]:
    """The instigator's next cursor entry (the newest failed tick id of an alerted streak, None: no
    streak alerted) and the alerts to send, in order (`recovered`, then `ticks_failing`: a streak that
    ended, and a new one that has already reached `threshold`)."""
    events = []
    if alerted_since is not None and history.newest_good_id is not None and history.newest_good_id > alerted_since:
        events.append("recovered")
        alerted_since = None
    if history.failures_in_a_row >= threshold:
        if alerted_since is None:
            events.append("ticks_failing")
        alerted_since = history.newest_failure_id
    return alerted_since, events


def failing_ticks_alert(event: str, history: TickHistory, threshold: int, link: str) -> dict:
    """The JSON message: Slack's `text`, and the fields an on-call tool routes on."""
    if event == "recovered":
        summary, icon = f"recovered: the {history.kind} {history.name} ticks again without an error", ":white_check_mark:"
    else:
        summary = f"the {history.kind} {history.name} has failed {threshold} ticks in a row (last error: {history.last_error})"
        icon = ":rotating_light:"
    return alert_message(event, summary, link, "Automation", icon, instigator=history.name, instigator_type=history.kind)


@dg.sensor(
    name=SENSOR_NAME,
    minimum_interval_seconds=settings.current().sensor_interval_seconds,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Alerts once when one of the code location's sensors or schedules has failed "
    "CPU_PIPELINE_TICK_FAILURES_BEFORE_ALERT ticks in a row, and again when it ticks without an error.",
)
def alert_on_failing_ticks(context: dg.SensorEvaluationContext, alert_webhook: AlertWebhook) -> None:
    threshold = settings.current().tick_failures_before_alert
    repository = context.repository_def
    watched = {*(d.name for d in repository.sensor_defs), *(d.name for d in repository.schedule_defs)} - {SENSOR_NAME}
    origin = context.code_location_origin  # None when a test builds the context
    states = instigator_states(context.instance, context.repository_name, origin.location_name if origin else None)
    previously = json.loads(context.cursor) if context.cursor else {}
    alerted = {}  # the next cursor: the streaks alerted on that have not ended
    for state in states:
        if state.instigator_name not in watched or not state.is_running:
            continue
        history = tick_history(context.instance, state, threshold)
        since, events = transition(previously.get(history.key), history, threshold)
        for event in events:
            if not alert_webhook.send(
                failing_ticks_alert(event, history, threshold, alert_webhook.automation_link()), context.log
            ):
                # The webhook did not take it: the cursor stays as before this alert; the next evaluation sends it again.
                since = None if event == "ticks_failing" else previously.get(history.key)
                break
        if since is not None:
            alerted[history.key] = since
    context.update_cursor(json.dumps(alerted, sort_keys=True))
