"""The job that fills a day of the history and recomputes the trends."""

import dagster as dg

from cpu_pipeline.defs.price_history.assets import GROUP

snapshot_cpu_price_history = dg.define_asset_job(
    "snapshot_cpu_price_history",
    selection=dg.AssetSelection.groups(GROUP),
    description="Snapshot today's analytics into the history (filed under today's UTC date) and recompute the trends.",
)
