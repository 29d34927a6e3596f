"""Today's date, as a resource, so that tests can fix it."""

from datetime import date, datetime, timezone

import dagster as dg


class Clock(dg.ConfigurableResource):
    """Today's date in UTC, the day the daily partitions are named by; tests fix it to replay days."""

    fixed_day: str | None = None

    def today(self) -> date:
        return date.fromisoformat(self.fixed_day) if self.fixed_day else datetime.now(timezone.utc).date()
