"""Nothing stale without a word: `recalculation_overdue` when no recalculation has written the `cpu`
table within the freshness window (CPU_PIPELINE_FRESHNESS_WINDOW_SECONDS, the freshness policy of
`cpu_analytics`), once per episode, and `recovered` when one writes it again.

A successful write-back is a materialisation of `cpu_analytics`, however its run was launched. Before
the first one, the window counts from when the sensor first ran. A daemon that is down evaluates no
sensor at all: `cpu-pipeline health` is what catches that, from outside Dagster.
"""

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta

import dagster as dg

from cpu_pipeline import settings
from cpu_pipeline.defs.alerts.resources import AlertWebhook, alert_message
from cpu_pipeline.lib.clock import Clock

WRITE_BACK = dg.AssetKey("cpu_analytics")


@dataclass(frozen=True)
class Staleness:
    """The sensor's cursor: when it first ran (seconds since the epoch), and whether an episode is open."""

    watching_since: float
    overdue: bool = False


def transition(
    state: Staleness, last_write_back: float | None, now: float, window_seconds: float
) -> tuple[Staleness, str | None]:
    """The next state, and the alert to raise (`recalculation_overdue`, `recovered`) or None."""
    overdue = now - (last_write_back if last_write_back is not None else state.watching_since) > window_seconds
    event = None
    if overdue != state.overdue:
        event = "recalculation_overdue" if overdue else "recovered"
    return Staleness(state.watching_since, overdue), event


def staleness_alert(event: str, last_write_back: float | None, now: float, window_seconds: float, link: str) -> dict:
    """The JSON message: Slack's `text`, and the fields an on-call tool routes on."""
    known = last_write_back is not None
    since = datetime.fromtimestamp(last_write_back, UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if known else None
    if event == "recovered":
        summary, icon = f"recovered: a recalculation wrote the cpu table at {since}", ":white_check_mark:"
    else:
        last = f"last: {since}, {timedelta(seconds=round(now - last_write_back))} ago" if known else "none since monitoring began"
        summary = f"no recalculation has written the cpu table within {timedelta(seconds=window_seconds)} ({last})"
        icon = ":rotating_light:"
    return alert_message(
        event,
        summary,
        link,
        "cpu_analytics",
        icon,
        last_write_back=since,
        freshness_window_seconds=window_seconds,
        asset_url=link,
    )


@dg.sensor(
    minimum_interval_seconds=settings.current().sensor_interval_seconds,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Alerts once when no recalculation has written the cpu table within the freshness window, "
    "and again when one has recovered it.",
)
def alert_on_overdue_recalculation(context: dg.SensorEvaluationContext, alert_webhook: AlertWebhook, clock: Clock) -> None:
    now = clock.now().timestamp()
    window = settings.current().freshness_window_seconds
    latest = context.instance.get_latest_materialization_event(WRITE_BACK)
    last_write_back = latest.timestamp if latest else None
    before = Staleness(**json.loads(context.cursor)) if context.cursor else Staleness(watching_since=now)
    state, event = transition(before, last_write_back, now, window)
    if event:
        alert = staleness_alert(event, last_write_back, now, window, alert_webhook.asset_link(WRITE_BACK))
        if not alert_webhook.send(alert, context.log):
            state = before  # the webhook did not take it: the next evaluation says it again
    context.update_cursor(json.dumps(asdict(state)))
