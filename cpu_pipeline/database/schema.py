"""The part of Deal Brain's schema that the pipeline reads and writes.

A real Deal Brain database has more columns; these tables are only ever created where they are
missing (`create_missing_tables`), never dropped or recreated.
"""

import sqlalchemy as sa

from cpu_pipeline.analytics.cpu_analytics import PERFORMANCE_COLUMNS, PRICE_TARGET_COLUMNS

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

# The pipeline's own tables, beside Deal Brain's: the nightly snapshots, and the trends they give.
cpu_analytics_history = sa.Table(
    "cpu_analytics_history",
    metadata,
    sa.Column("cpu_id", sa.Integer, primary_key=True),
    sa.Column("day", sa.Date, primary_key=True),
    *(sa.Column(name, cpu.c[name].type) for name in (*PRICE_TARGET_COLUMNS, *PERFORMANCE_COLUMNS)),
)

cpu_price_trends = sa.Table(
    "cpu_price_trends",
    metadata,
    sa.Column("cpu_id", sa.Integer, primary_key=True),
    sa.Column("as_of", sa.Date, nullable=False),
    sa.Column("price_target_good", sa.Double),
    sa.Column("good_change_7d", sa.Double),
    sa.Column("good_change_7d_pct", sa.Double),
    sa.Column("good_change_30d", sa.Double),
    sa.Column("good_change_30d_pct", sa.Double),
    sa.Column("price_drop", sa.Boolean),
    sa.Column("wide_price_range", sa.Boolean),
    sa.Column("outlier_count", sa.Integer),
)

# Every column the pipeline writes, in the order of the `cpu` table.
ANALYTICS_COLUMNS = [
    *PRICE_TARGET_COLUMNS,
    "price_target_updated_at",
    *PERFORMANCE_COLUMNS,
    "performance_metrics_updated_at",
]


def create_missing_tables(engine: sa.Engine) -> None:
    metadata.create_all(engine, checkfirst=True)
