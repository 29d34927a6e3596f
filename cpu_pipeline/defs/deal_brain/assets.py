"""Deal Brain's `cpu` and `listing` tables as external assets: the lineage starts where the data does.
Deal Brain's application writes them; the loaders `cpus` and `listing_figures` read them, and the write-back
`cpu_analytics` writes its columns back into `cpu` (its `dagster/table_name` says so). The write-back is
not drawn upstream of `deal_brain/cpu`: that edge would close a cycle, and the graph shows what each
run reads.

Keyed under `deal_brain/`: a plain `cpu` beside the loader `cpus` reads as a typo in the graph, and the
prefix says whose table it is. Owners and the database's kind are applied by the root definitions; the
listing-change sensor records each change it acts on as an observation of `deal_brain/listing`.
"""

import dagster as dg

from cpu_pipeline.database import schema
from cpu_pipeline.lib.metadata import TABLE_NAME

GROUP = "deal_brain"
# As plain text: SQLAlchemy's names are a str subclass, which Dagster's TableMetadataSet refuses to read
# once the definitions have gone through a snapshot (the UI would not see the table's name).
CPU_TABLE, LISTING_TABLE = str(schema.cpu.name), str(schema.listing.name)

CPU = dg.AssetSpec(
    key=dg.AssetKey([GROUP, CPU_TABLE]),
    group_name=GROUP,
    description="Deal Brain's CPU catalogue, written by its application: names, manufacturers and PassMark "
    "scores, and the price targets and performance values that `cpu_analytics` writes back.",
    metadata={TABLE_NAME: CPU_TABLE},
)
LISTING = dg.AssetSpec(
    key=dg.AssetKey([GROUP, LISTING_TABLE]),
    group_name=GROUP,
    description="Deal Brain's marketplace listings, written by its application and importers: each one's "
    "CPU, status and adjusted price. Observed by the sensor `recalculate_on_listing_change` whenever it acts "
    "on a change; the data version is its change signal.",
    metadata={TABLE_NAME: LISTING_TABLE},
)
