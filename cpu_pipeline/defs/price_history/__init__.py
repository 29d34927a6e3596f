"""The price history: the group `cpu_price_history` (a daily snapshot of the write-back, and the
trends it gives), the job `snapshot_cpu_price_history` and the sensor that runs it after each recalculation."""
