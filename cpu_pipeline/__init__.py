"""Recalculates Deal Brain's CPU price targets and performance value with Dagster and pandas."""
