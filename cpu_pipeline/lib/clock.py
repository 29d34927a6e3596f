"""The current time, as a resource, so that tests can fix it."""

from datetime import UTC, date, datetime

import dagster as dg


class Clock(dg.ConfigurableResource):
    """The current time in UTC, and today's date, under which the history files its snapshot.

    Tests fix it, to replay days or judge a schedule's tick: `fixed_now` (an ISO timestamp, UTC when it
    has no offset) or `fixed_day` (an ISO date: that day at midnight UTC).
    """

    fixed_now: str | None = None
    fixed_day: str | None = None

    def now(self) -> datetime:
        if self.fixed_now:
            fixed = datetime.fromisoformat(self.fixed_now)
            return fixed if fixed.tzinfo else fixed.replace(tzinfo=UTC)
        if self.fixed_day:
            return datetime.combine(date.fromisoformat(self.fixed_day), datetime.min.time(), UTC)
        return datetime.now(UTC)

    def today(self) -> date:
        return self.now().date()
