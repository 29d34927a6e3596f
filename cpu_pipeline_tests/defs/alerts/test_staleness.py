import dagster as dg

from cpu_pipeline.defs.alerts.resources import AlertWebhook
from cpu_pipeline.defs.alerts.staleness import Staleness, alert_on_overdue_recalculation, staleness_alert, transition
from cpu_pipeline.lib.clock import Clock

HOUR = 3600.0
WINDOW = 26 * HOUR


def test_within_the_window_nothing_is_said():
    state, event = transition(Staleness(watching_since=0), last_write_back=10 * HOUR, now=30 * HOUR, window_seconds=WINDOW)
    assert (state.overdue, event) == (False, None)


def test_past_the_window_one_alert_per_episode_then_recovered():
    state = Staleness(watching_since=0)
    events = []
    for now, last in [
        (20 * HOUR, 1 * HOUR),
        (28 * HOUR, 1 * HOUR),
        (29 * HOUR, 1 * HOUR),
        (40 * HOUR, 1 * HOUR),
        (41 * HOUR, 40.5 * HOUR),
    ]:
        state, event = transition(state, last, now, WINDOW)
        events.append(event)
    assert events == [None, "recalculation_overdue", None, None, "recovered"]


def test_without_any_write_back_the_window_counts_from_when_monitoring_began():
    state = Staleness(watching_since=100 * HOUR)
    assert transition(state, None, 125 * HOUR, WINDOW)[1] is None
    assert transition(state, None, 127 * HOUR, WINDOW)[1] == "recalculation_overdue"


def test_the_alert_names_the_last_write_back_and_the_window():
    link = AlertWebhook(ui_base_url="http://ui:3000").asset_link(dg.AssetKey("cpu_analytics"))
    alert = staleness_alert("recalculation_overdue", 0.0, 27 * HOUR, WINDOW, link)
    assert alert["event"] == "recalculation_overdue"
    assert alert["what_happened"] == (
        "no recalculation has written the cpu table within 1 day, 2:00:00 (last: 1970-01-01 00:00:00 UTC, 1 day, 3:00:00 ago)"
    )
    assert alert["asset_url"] == "http://ui:3000/assets/cpu_analytics"
    recovered = staleness_alert("recovered", 27 * HOUR, 27 * HOUR, WINDOW, link)
    assert recovered["what_happened"] == "recovered: a recalculation wrote the cpu table at 1970-01-02 03:00:00 UTC"


def test_an_alert_the_webhook_did_not_take_is_sent_again_at_the_next_evaluation(webhook):
    """The episode is only marked announced once the webhook accepted the alert."""
    cursor = '{"watching_since": 0.0, "overdue": false}'  # watching since 1970: long past any window

    def evaluate(url: str, cursor: str) -> str:
        resources = {"alert_webhook": AlertWebhook(url=url), "clock": Clock(fixed_now="2026-11-30T12:00:00")}
        with dg.build_sensor_context(instance=dg.DagsterInstance.ephemeral(), cursor=cursor, resources=resources) as context:
            alert_on_overdue_recalculation(context)
            return context.cursor

    unchanged = evaluate("http://127.0.0.1:9/down", cursor)  # nothing listens on port 9
    assert unchanged == cursor
    announced = evaluate(webhook.url, unchanged)
    assert [alert["event"] for alert in webhook.received] == ["recalculation_overdue"]
    assert '"overdue": true' in announced
    evaluate(webhook.url, announced)
    assert len(webhook.received) == 1  # once per episode
