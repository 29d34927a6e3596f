"""Alerts on every run of the code location: a failed run, an error rate past the gate, a run past
its maximum runtime; a sensor or schedule whose ticks keep failing; the sensors and the webhook they post to."""
