"""The part of Deal Brain's schema that the pipeline reads and writes.

A real Deal Brain database has more columns; these tables are only ever created where they are
missing (`create_missing_tables`), never dropped or recreated.
"""

import sqlalchemy as sa

metadata = sa.MetaData()

cpu = sa.Table(
    "cpu",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(255), nullable=False, unique=True),
    sa.Column("manufacturer", sa.String(64), nullable=False),
    sa.Column("cpu_mark_multi", sa.Integer),
    sa.Column("cpu_mark_single", sa.Integer),
    sa.Column("price_target_good", sa.Double),
    sa.Column("price_target_great", sa.Double),
    sa.Column("price_target_fair", sa.Double),
    sa.Column("price_target_stddev", sa.Double),
    sa.Column("price_target_sample_size", sa.Integer, nullable=False, server_default="0"),
    sa.Column("price_target_confidence", sa.String(16)),
    sa.Column("price_target_updated_at", sa.DateTime),
    sa.Column("dollar_per_mark_single", sa.Double),
    sa.Column("dollar_per_mark_multi", sa.Double),
    sa.Column("performance_value_percentile", sa.Double),
    sa.Column("performance_value_rating", sa.String(16)),
    sa.Column("performance_metrics_updated_at", sa.DateTime),
)

listing = sa.Table(
    "listing",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("cpu_id", sa.Integer, sa.ForeignKey("cpu.id"), index=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("price_usd", sa.Numeric(10, 2)),
    sa.Column("adjusted_price_usd", sa.Numeric(10, 2)),
)

PRICE_TARGET_COLUMNS = [
    "price_target_good",
    "price_target_great",
    "price_target_fair",
    "price_target_stddev",
    "price_target_sample_size",
    "price_target_confidence",
]
PERFORMANCE_COLUMNS = [
    "dollar_per_mark_single",
    "dollar_per_mark_multi",
    "performance_value_percentile",
    "performance_value_rating",
]
# Every column the pipeline writes, in the order of the `cpu` table.
ANALYTICS_COLUMNS = [
    *PRICE_TARGET_COLUMNS,
    "price_target_updated_at",
    *PERFORMANCE_COLUMNS,
    "performance_metrics_updated_at",
]


def create_missing_tables(engine: sa.Engine) -> None:
    metadata.create_all(engine, checkfirst=True)
