"""Bounded storage: the job `delete_old_runs`, which deletes the runs past the retention with their
events and compute logs (`cpu_pipeline/ops/maintenance.py`), and its daily schedule."""
