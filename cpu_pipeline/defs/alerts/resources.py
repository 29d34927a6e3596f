"""Where alerts go: a Slack-compatible incoming webhook, optional, and the UI's address for links."""

from urllib.parse import urlsplit

import dagster as dg
import requests

from cpu_pipeline import settings

DEFAULT_UI_BASE_URL = settings.BY_NAME["CPU_PIPELINE_UI_BASE_URL"].default


def alert_message(event: str, summary: str, link: str, label: str, icon: str = ":rotating_light:", **fields) -> dict:
    """An alert as JSON: Slack's `text` (the summary, then a link to the UI labelled `label`), and the
    structured fields an on-call tool can route on: `event`, `what_happened`, and `fields`."""
    return {"text": f"{icon} cpu_pipeline: {summary}. <{link}|{label}>", "event": event, "what_happened": summary, **fields}


class AlertWebhook(dg.ConfigurableResource):
    """Where alerts go: a Slack-compatible incoming webhook (optional) and the UI's base URL for links."""

    url: str | None = None
    ui_base_url: str = DEFAULT_UI_BASE_URL
    timeout_seconds: float = 5.0

    def run_link(self, run_id: str) -> str:
        return f"{self.ui_base_url.rstrip('/')}/runs/{run_id}"

    def asset_link(self, key: dg.AssetKey) -> str:
        return f"{self.ui_base_url.rstrip('/')}/assets/{key.to_user_string()}"

    def automation_link(self) -> str:
        return f"{self.ui_base_url.rstrip('/')}/automation"

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
            log.warning(
                f"cpu_metrics.alert webhook at {where} failed: {type(error).__name__}: "
                f"{getattr(error.response, 'status_code', '') or 'no response'}"
            )
            return False
        return True


def alert_webhook(configured: settings.Settings) -> AlertWebhook:
    """The webhook from ALERT_WEBHOOK_URL (as an EnvVar: it is a secret), or none; links to CPU_PIPELINE_UI_BASE_URL."""
    return AlertWebhook(url=configured.resource_config("ALERT_WEBHOOK_URL", None), ui_base_url=configured.ui_base_url)


@dg.definitions
def alert_resources() -> dg.Definitions:
    return dg.Definitions(resources={"alert_webhook": alert_webhook(settings.current())})
