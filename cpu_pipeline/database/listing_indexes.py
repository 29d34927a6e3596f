"""The indexes `cpu-pipeline setup` creates on Deal Brain's `listing` table, one for each read of the
pipeline that would otherwise scan or sort the whole table.

The jobs never create them (they run with no such privilege) and work without them, only slower. Deal
Brain's Alembic autogenerate proposes dropping an index its models lack: docs/application_database.md says how to keep
them (its env.py's `include_name`, or the index in its model).
"""

from typing import NamedTuple

import sqlalchemy as sa


class ListingIndex(NamedTuple):
    """`CREATE INDEX <name> ON listing <definition>`, made only where `listing` has the column `needs`."""

    name: str
    definition: str
    needs: str


# The listing-change probe's `max(updated_at)` (database/change_signal.py): a lookup, not a scan.
UPDATED_AT = ListingIndex("ix_listing_updated_at", "(updated_at)", "updated_at")
# The per-CPU figures (database/bulk.py's `listing_figures_query`) read every active listing in the order
# of (CPU, price): this index holds them in that order, with the listing id, so the statement reads the
# index alone (PostgreSQL's index-only scan, once autovacuum has marked the table's pages all-visible)
# instead of sorting the table: measured 0.32 s instead of 0.68 s at 1,000,000 listings.
ACTIVE_PRICES = ListingIndex(
    "ix_listing_active_prices",
    "(cpu_id, adjusted_price_usd) INCLUDE (id) WHERE status = 'active' AND cpu_id IS NOT NULL",
    "adjusted_price_usd",
)
ALL = (UPDATED_AT, ACTIVE_PRICES)


def create(connection: sa.Connection, index: ListingIndex) -> bool:
    """Create `index` where `listing` exists with its column and no index of that name does; returns
    whether it was created. Needs the owner of `listing` (the setup step); blocks writes to `listing`
    while it builds (seconds at 10,000,000 listings)."""
    inspector = sa.inspect(connection)
    if not inspector.has_table("listing") or index.needs not in {column["name"] for column in inspector.get_columns("listing")}:
        return False  # no Deal Brain tables (yet), or an older shape: nothing to index
    if index.name in {existing["name"] for existing in inspector.get_indexes("listing")}:
        return False
    connection.execute(sa.text(f"CREATE INDEX {index.name} ON listing {index.definition}"))
    return True


def why_skipped(engine: sa.Engine) -> str | None:
    """Why `cpu-pipeline setup` made none of the indexes on this PostgreSQL database, and how to get them:
    it has no `listing` table yet (Deal Brain's migrations, or the demo catalogue, create it). None when
    `listing` exists, or on SQLite (no indexes to make)."""
    if engine.dialect.name != "postgresql" or sa.inspect(engine).has_table("listing"):
        return None
    return (
        f"skipped the indexes on listing ({', '.join(index.name for index in ALL)}): the database has no `listing` "
        "table yet; rerun `cpu-pipeline setup` after Deal Brain's migrations (or `cpu-pipeline generate`) to create them"
    )
