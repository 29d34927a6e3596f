"""Alerts on every run of the code location: a failed run, an error rate past the gate, a run past
its maximum runtime; the run status sensors and the webhook they post to."""
