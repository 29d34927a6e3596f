"""Whether the `listing` table has changed: a short text that changes whenever its rows do.

The recalculation-on-change sensor compares it between evaluations; it never reads a listing.

- PostgreSQL: the table's own row-change counters (`n_tup_ins + n_tup_upd + n_tup_del` in
  `pg_stat_user_tables`), and `max(updated_at)` where the column exists (Deal Brain's ORM bumps it on
  every update). The counters catch what the timestamp cannot: a transaction that began before another
  and commits after it leaves both the row count and `max(updated_at)` as they were, but still adds
  to the counters when it commits. Each backend flushes its counters at most once a second and within
  ten seconds of going idle, so a change shows within seconds; a counter reset (`pg_stat_reset`, a
  crash) reads as one more change. `max(updated_at)` costs an index lookup where
  `listing_indexes.UPDATED_AT` exists (`cpu-pipeline setup` creates it), a scan of the table otherwise.
- SQLite (the embedded demo database) keeps no such counters, and `PRAGMA data_version` only means
  something on one long-lived connection, so the signal is read from the rows: their count, the largest
  id, `max(updated_at)`, the number of active listings and the total of the adjusted prices. An update
  that leaves all five as they were (a price raised on one listing and lowered by as much on another,
  in one transaction, without touching `updated_at`) goes unseen until the nightly run.
"""

import sqlalchemy as sa

UPDATED_AT = "updated_at"

_POSTGRES_COUNTERS = """
SELECT coalesce(n_tup_ins + n_tup_upd + n_tup_del, 0)
FROM pg_stat_user_tables WHERE relid = to_regclass('listing')
"""
_SQLITE_ROWS = "SELECT count(*), max(id), sum(status = 'active'), total(adjusted_price_usd){updated_at} FROM listing"


def has_updated_at(connection: sa.Connection) -> bool:
    return UPDATED_AT in {column["name"] for column in sa.inspect(connection).get_columns("listing")}


def listing_change_signal(engine: sa.Engine) -> str:
    """The signal, e.g. `changes=1204;updated_at=2026-11-30 05:40:01.123456` on PostgreSQL.

    Raises sqlalchemy.exc.DBAPIError when the database cannot be reached or has no `listing` table.
    """
    with engine.connect() as connection:
        timestamped = has_updated_at(connection)
        if connection.dialect.name == "postgresql":
            parts = {"changes": connection.execute(sa.text(_POSTGRES_COUNTERS)).scalar()}
            if timestamped:
                parts[UPDATED_AT] = connection.execute(sa.text(f"SELECT max({UPDATED_AT}) FROM listing")).scalar()
        else:
            query = _SQLITE_ROWS.format(updated_at=f", max({UPDATED_AT})" if timestamped else "")
            names = ["rows", "max_id", "active", "price_total"] + ([UPDATED_AT] if timestamped else [])
            parts = dict(zip(names, connection.execute(sa.text(query)).one()))
    return ";".join(f"{name}={value}" for name, value in parts.items())
