"""The pipeline's reads and writes, all in bulk: no per-CPU queries.

Reads of Deal Brain's tables: the CPUs (`load_cpus`), the listings summarised per CPU
(`load_listing_figures`: on PostgreSQL in one statement inside the database, so that no listing travels;
on SQLite from the rows, chunk by chunk) and the usable prices of a few CPUs (`load_usable_prices`);
the write-back into `cpu` (`write_analytics`), and the pipeline's own tables: a day's snapshot
(`write_history`), the history the trends read (`load_history`) and the trends (`write_trends`).

Reads on PostgreSQL go through `COPY ... TO STDOUT` in PostgreSQL's text format, into which PostgreSQL
converts text to UTF-8 from any server encoding, and which keeps apart what CSV cannot: a NULL is an
unescaped `\\N`, an empty text an empty field, and a text `\\N` has its backslash escaped. The results are
small (the CPUs, their listing figures, the prices of a few CPUs: thousands of rows), so plain Python
splits the fields and converts each column by the type PostgreSQL gives it (`cursor.description`):
integers with `int`, floats and numerics with `float`, which is correctly rounded, so every stored
double arrives bit for bit (pandas' fast CSV parser is an ulp off for about one full-precision value in
six). No CSV library: pyarrow's, used before, added 34 MB to every process that imports the pipeline.
Values come back as the store holds them: a stored `NaN` or `Infinity` stays the text PostgreSQL wrote
(only a NULL is NaN), so the analytics can tell an invalid price from a missing one; text is text
whatever it looks like (an empty name stays empty, a model number stays a string).

Every call of the driver made outside SQLAlchemy raises SQLAlchemy's errors, as a query through it
would: a connection lost midway is an `sqlalchemy.exc.OperationalError` on every path, which the
loads' retry recognises (`engine.is_connection_error`).
"""

import contextlib
import io
import math
import re
from collections.abc import Callable, Iterator
from datetime import date, datetime

import numpy as np
import pandas as pd
import sqlalchemy as sa

from cpu_pipeline.analytics import listing_figures
from cpu_pipeline.database import schema
from cpu_pipeline.database.engine import missing_table

# The columns the pipeline reads; the grants give SELECT on exactly these.
READ_COLUMNS = {
    "cpu": ["id", "name", "manufacturer", "cpu_mark_multi", "cpu_mark_single"],
    "listing": ["id", "cpu_id", "status", "adjusted_price_usd"],
}
CPU_QUERY = f"SELECT {', '.join(READ_COLUMNS['cpu'])} FROM cpu ORDER BY id"
LISTING_QUERY = f"SELECT {', '.join(READ_COLUMNS['listing'])} FROM listing"
# `listing_figures.FIGURE_COLUMNS` in one statement (`listing_figures_query`), every rule as `listing_figures` states it: P, the
# active listings' positive finite prices (a stored NaN sorts above every number in PostgreSQL, so
# `< 'Infinity'` leaves it out); the sums and the quartiles over the ordinary prices only, computed
# in CASE so that PostgreSQL, which refuses a float overflow or underflow with an error, never meets
# one (between ordinary prices a difference is 0 or above 1e-117, a quarter of it no underflow); each CPU's
# prices sorted into an array, from which the quartiles come as `percentile_cont` computes them
# (lo + f * (hi - lo), in float8) and the outliers are counted against the fences by binary search
# in that sorted array (`width_bucket` counts the prices at or below a fence; a price equal to the low
# fence is no outlier, so where one is, the prices below are counted one by one). The listings are
# read in the order of (CPU, price), which `listing_indexes.ACTIVE_PRICES` holds ready (without it,
# one sort of the table): each CPU's group and its array then come in order and the per-group sort
# of the array's ORDER BY finds its input sorted. The stored text of an invalid price is looked up
# by id for the few CPUs that have one, not converted for every listing. One pass over the table (in
# FIGURE_RANGES parts, below); no listing leaves the database.
_ORDINARY = f"price BETWEEN {listing_figures.ORDINARY_PRICES[0]} AND {listing_figures.ORDINARY_PRICES[1]}"
_NOT_FINITE = "price IN ('NaN', 'Infinity', '-Infinity')"
_FENCE = f"{listing_figures.IQR_FENCE}::float8 * (price_q3 - price_q1)"


def _quartile(p: float) -> str:
    """`percentile_cont(p)` of the sorted array `g.prices` of `g.sample_size` elements (1-based); NULL for
    a CPU with an extreme price, whose figures are recomputed exactly anyway (`price_statistics`) and
    whose subnormal prices would make PostgreSQL refuse the interpolation's underflow with an error."""
    position = f"{p}::float8 * (g.sample_size - 1)"
    low, high = f"g.prices[1 + floor({position})::int]", f"g.prices[1 + ceil({position})::int]"
    fraction = f"({position} - floor({position}))"
    return (
        f"CASE WHEN g.extreme_prices > 0 THEN NULL WHEN floor({position}) = ceil({position}) THEN {low} "
        f"ELSE {low} + ({fraction} * ({high} - {low})) END"
    )


# The CPUs are summarised in this many ranges of ids, one aggregation each, joined by UNION ALL:
# PostgreSQL's Parallel Append hands each range to one of its parallel workers (an aggregate over
# sorted input cannot be split across workers otherwise). The ranges hold about equal numbers of
# listings (`figure_range_bounds`), two for each of the three processes (the default two workers
# and the leader): each process summarises two, where with four ranges one process had to take a
# second while the others idled (on 2 cores: 5/8 of the serial time instead of 1/2). The bounds are
# literals, so that the planner sees how many listings each range holds (with bounds computed inside
# the statement it guesses a few and plans no parallel work). Measured at 10,000,000 listings on 2
# busy cores, best of 3: 2.45 s in one aggregation, 1.71 s in four ranges of equal width in ids.
FIGURE_RANGES = 6
CPU_ID_RANGE_QUERY = "SELECT min(id), max(id) FROM cpu"
# What ANALYZE (autovacuum's, or the setup's) last saw of `listing.cpu_id` in its sample of the table: the
# most common ids with the share of listings each holds, and the bounds of buckets holding equal shares
# of the other listings. A lookup in the catalog, not a scan; visible to a role that may read the column.
CPU_ID_STATISTICS_QUERY = """
SELECT null_frac, most_common_vals::text::bigint[], most_common_freqs, histogram_bounds::text::bigint[]
FROM pg_stats
WHERE attname = 'cpu_id' AND tablename = 'listing' AND schemaname = (
    SELECT nspname FROM pg_namespace WHERE oid = (SELECT relnamespace FROM pg_class WHERE oid = to_regclass('listing')))
ORDER BY inherited DESC
LIMIT 1
"""


def cpu_id_bounds(lowest: int | None, highest: int | None) -> list[int]:
    """FIGURE_RANGES - 1 evenly spaced ids between the cpu table's smallest and largest id (none for an
    empty table), which split the CPUs into FIGURE_RANGES ranges."""
    if lowest is None or highest is None:
        return []
    return [lowest + k * (highest - lowest + 1) // FIGURE_RANGES for k in range(1, FIGURE_RANGES)]


def balanced_cpu_id_bounds(
    null_share: float, common_ids: list[int] | None, common_shares: list[float] | None, histogram: list[int] | None
) -> list[int]:
    """FIGURE_RANGES - 1 increasing ids that split the listings into FIGURE_RANGES ranges of CPU ids holding
    about equal shares of them, from `listing.cpu_id`'s statistics (`CPU_ID_STATISTICS_QUERY`: the share of
    NULLs, the most common ids and their shares, the histogram's bounds); none where they hold no id. Each
    common id is a step of its share; each histogram bucket holds an equal share of the rest, spread evenly
    over its ids. One CPU's listings are summarised in one range: where a CPU holds more than a range's
    share, the ranges after it share the rest equally."""
    common = dict(zip(common_ids or [], common_shares or []))
    histogram = histogram or []
    if not common and len(histogram) < 2:
        return []
    buckets = list(zip(histogram, histogram[1:]))
    bucket_share = max(1 - null_share - sum(common.values()), 0) / len(buckets) if buckets else 0.0

    def share_below(cpu_id: int) -> float:
        steps = sum(share for common_id, share in common.items() if common_id < cpu_id)
        return steps + bucket_share * sum(min(max((cpu_id - low) / (high - low + 1), 0), 1) for low, high in buckets)

    lowest, highest = min([*common, *histogram]), max([*common, *histogram]) + 1
    total, bounds, below = share_below(highest), [], 0.0
    for ranges_left in range(FIGURE_RANGES, 1, -1):
        # The smallest id below which lie the listings of the ranges before and an equal part of those left.
        wanted, low, high = below + (total - below) / ranges_left, bounds[-1] if bounds else lowest, highest
        while low < high:
            middle = (low + high) // 2
            low, high = (middle + 1, high) if share_below(middle) < wanted else (low, middle)
        bounds.append(low)
        below = share_below(low)
    return bounds


def figure_range_bounds(connection: sa.Connection) -> list[int]:
    """The ids at which the figures statement splits the CPUs: balanced by the listings each range holds
    (`balanced_cpu_id_bounds`), or, where `listing` has no statistics yet, evenly spaced over `cpu`'s ids
    (`cpu_id_bounds`). Either way they only spread the work: the figures are the same."""
    statistics = connection.execute(sa.text(CPU_ID_STATISTICS_QUERY)).first()
    bounds = balanced_cpu_id_bounds(*statistics) if statistics is not None else []
    return bounds or cpu_id_bounds(*connection.execute(sa.text(CPU_ID_RANGE_QUERY)).one())


def _figures_of_id_range(lower: int | None, upper: int | None) -> str:
    """The aggregation of the CPU ids from `lower` (None: no lower bound) to below `upper` (None: none)."""
    bounds = (f" AND cpu_id >= {int(lower)}" if lower is not None else "") + (
        f" AND cpu_id < {int(upper)}" if upper is not None else ""
    )
    return f"""
            SELECT cpu_id,
                   count(*) AS active_listings,
                   count(*) FILTER (WHERE usable) AS sample_size,
                   coalesce(sum(CASE WHEN usable AND {_ORDINARY} THEN price END), 0) AS price_sum,
                   coalesce(sum(CASE WHEN usable AND {_ORDINARY} THEN price * price END), 0) AS price_sum_of_squares,
                   count(*) FILTER (WHERE usable AND NOT {_ORDINARY}) AS extreme_prices,
                   array_agg(price ORDER BY price) FILTER (WHERE usable) AS prices,
                   count(*) FILTER (WHERE {_NOT_FINITE}) AS invalid_prices,
                   min(id) FILTER (WHERE {_NOT_FINITE}) AS first_invalid_listing
            FROM (SELECT id, cpu_id, adjusted_price_usd::float8 AS price,
                         adjusted_price_usd::float8 > 0 AND adjusted_price_usd::float8 < 'Infinity' AS usable
                  FROM listing WHERE status = 'active' AND cpu_id IS NOT NULL{bounds}
                  ORDER BY cpu_id, adjusted_price_usd) AS active
            GROUP BY cpu_id"""


_UNION_ALL = "\n            UNION ALL"


def listing_figures_query(id_bounds: list[int]) -> str:
    """The statement, its CPUs split at the increasing `id_bounds` (`cpu_id_bounds`). The first range has
    no lower bound and the last no upper one, so every id falls in exactly one range whatever the
    bounds (a CPU added since they were read included): they only spread the work."""
    edges = [None, *id_bounds, None]
    ranges = _UNION_ALL.join(_figures_of_id_range(lower, upper) for lower, upper in zip(edges, edges[1:]))
    return f"""
SELECT cpu_id, active_listings, sample_size, price_sum, price_sum_of_squares, extreme_prices, price_q1, price_q3,
       CASE WHEN sample_size >= {listing_figures.OUTLIER_MIN_PRICES} AND extreme_prices = 0 THEN
           CASE WHEN at_or_below_low = 0 OR prices[at_or_below_low] < low_fence THEN at_or_below_low
                ELSE (SELECT count(*) FROM unnest(prices) AS price WHERE price < low_fence) END
           + sample_size - width_bucket(high_fence, prices)
       END AS outlier_count,
       invalid_prices, first_invalid_listing,
       (SELECT adjusted_price_usd::text FROM listing WHERE id = first_invalid_listing) AS first_invalid_price
FROM (
    SELECT *, width_bucket(low_fence, prices) AS at_or_below_low
    FROM (
    SELECT *,
           CASE WHEN extreme_prices = 0 THEN price_q1 - {_FENCE} END AS low_fence,
           CASE WHEN extreme_prices = 0 THEN price_q3 + {_FENCE} END AS high_fence
    FROM (
        SELECT g.*, {_quartile(0.25)} AS price_q1, {_quartile(0.75)} AS price_q3
        FROM ({ranges}
        ) AS g
        OFFSET 0  -- each quartile computed once per CPU, not again wherever it is used
    ) AS q
    OFFSET 0
    ) AS fences
    OFFSET 0
) AS fenced
ORDER BY cpu_id
"""


# For that statement only: where there is no index to read in order, the sort stays in memory (the
# default 4 MB spills a million rows to disk), and it sorts the table read in its own order, never
# an index on `cpu_id` alone read in that index's order, the heap's at random, and sorted by price
# within each CPU (an incremental sort, which the planner can prefer: measured 3x slower); and JIT
# compiling costs more than this one statement gains from it.
FIGURES_SETTINGS = {"work_mem": "256MB", "enable_incremental_sort": "off", "jit": "off"}
# SQLite's rows are summarised this many at a time: memory stays flat however many listings there are.
SQLITE_CHUNK_ROWS = 200_000
# The columns each table must have: what the pipeline reads, and for `cpu` what it writes.
REQUIRED_COLUMNS = {"cpu": [*READ_COLUMNS["cpu"], *schema.ANALYTICS_COLUMNS], "listing": READ_COLUMNS["listing"]}
# Deal Brain's ORM stamps `cpu.updated_at` on every write; where the column exists, the write-back does too.
ROW_UPDATED_AT = "updated_at"
# Any fixed number: the key of the PostgreSQL advisory lock that serialises write-backs.
WRITE_BACK_LOCK_KEY = 0x0CB0_A11C


class SchemaMismatch(RuntimeError):
    """The database lacks a table or column the pipeline needs; the message names them."""


class WriteBackBusy(RuntimeError):
    """Another write-back held the lock for longer than this one would wait; nothing was written."""


def check_schema(engine: sa.Engine, table: str) -> None:
    inspector = sa.inspect(engine)
    if not inspector.has_table(table):
        raise SchemaMismatch(missing_table(table))
    present = {column["name"] for column in inspector.get_columns(table)}
    missing = [column for column in REQUIRED_COLUMNS[table] if column not in present]
    if missing:
        raise SchemaMismatch(
            f"table `{table}` has no column {', '.join(f'`{column}`' for column in missing)}: the database is not at "
            "Deal Brain's current schema; run its migrations (alembic upgrade head)"
        )


def load_cpus(engine: sa.Engine) -> pd.DataFrame:
    check_schema(engine, "cpu")
    text = [column for column in READ_COLUMNS["cpu"] if isinstance(schema.cpu.c[column].type, sa.String)]
    return _read(engine, CPU_QUERY, text_columns=text)


def load_listing_figures(engine: sa.Engine) -> pd.DataFrame:
    """The listings summarised per CPU (`listing_figures.FIGURE_COLUMNS`, one row per CPU id with active
    listings): on PostgreSQL by one statement in the database, on SQLite from the rows in chunks."""
    check_schema(engine, "listing")
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            bounds = figure_range_bounds(connection)
        query = listing_figures_query(bounds)
        return _read(engine, query, text_columns=["first_invalid_price"], settings=FIGURES_SETTINGS)
    figures = [listing_figures.summarise(chunk) for chunk in _listings_by_cpu(engine)]
    return pd.concat(figures, ignore_index=True) if figures else listing_figures.summarise(_no_listings())


def load_usable_prices(engine: sa.Engine, cpu_ids: list[int]) -> pd.DataFrame:
    """P of the CPUs `cpu_ids` (`cpu_id`, `price`: each usable price as stored, as a float)."""
    if engine.dialect.name == "postgresql":
        ids = "{" + ",".join(str(int(cpu_id)) for cpu_id in cpu_ids) + "}"
        query = (
            "SELECT cpu_id, adjusted_price_usd::float8 AS price FROM listing WHERE status = 'active' "
            f"AND cpu_id = ANY('{ids}'::integer[]) AND adjusted_price_usd::float8 > 0 "
            "AND adjusted_price_usd::float8 < 'Infinity'"
        )
        return _read(engine, query)
    chunks = [listing_figures.usable_prices(chunk, cpu_ids) for chunk in _listings_by_cpu(engine)]
    return pd.concat(chunks, ignore_index=True) if chunks else pd.DataFrame({"cpu_id": [], "price": []})


def _no_listings() -> pd.DataFrame:
    return pd.DataFrame({column: pd.Series(dtype=object) for column in READ_COLUMNS["listing"]})


def _listings_by_cpu(engine: sa.Engine) -> Iterator[pd.DataFrame]:
    """SQLite's listing rows in chunks of about `SQLITE_CHUNK_ROWS`, ordered by CPU, each holding all
    the rows of its CPUs: the rows of a chunk's last CPU id (as a number) wait for the next chunk. The
    order is SQLite's own (numbers before text), so ids of every kind stay together."""
    with engine.connect() as connection:
        chunks = pd.read_sql_query(sa.text(f"{LISTING_QUERY} ORDER BY cpu_id"), connection, chunksize=SQLITE_CHUNK_ROWS)
        carried = None
        for chunk in chunks:
            if chunk.empty:
                continue
            rows = chunk if carried is None else pd.concat([carried, chunk], ignore_index=True)
            key = pd.to_numeric(rows["cpu_id"], errors="coerce")
            last = key.iloc[-1]
            boundary = key.eq(last) if last == last else key.isna()
            carried, complete = rows[boundary], rows[~boundary]
            if len(complete):
                yield complete
        if carried is not None and len(carried):
            yield carried


def _read(engine: sa.Engine, query: str, text_columns: list[str] = (), settings: dict | None = None) -> pd.DataFrame:
    """The query's rows, each column as `_as_stored` gives it; `text_columns` read as text whatever they
    hold; on PostgreSQL with the planner `settings` (name: value) for this statement only."""
    if engine.dialect.name != "postgresql":
        with engine.connect() as connection:
            return pd.read_sql_query(sa.text(query), connection)
    buffer = io.BytesIO()
    connection = engine.raw_connection()
    try:
        # PostgreSQL converts text to UTF-8 from every server encoding but SQL_ASCII, which holds the
        # bytes as some client sent them, unchecked (a conversion would refuse the first invalid one).
        unchecked = connection.driver_connection.info.parameter_status("server_encoding") == "SQL_ASCII"
        in_utf8 = "" if unchecked else ", ENCODING 'UTF8'"
        copy = f"COPY ({query}) TO STDOUT WITH (FORMAT text{in_utf8})"
        with (
            _driver_errors_as_sqlalchemy(engine.dialect, connection.driver_connection, copy, connection.invalidate),
            connection.cursor() as cursor,
        ):
            for name, value in (settings or {}).items():  # this transaction only: the pool rolls it back
                cursor.execute(f"SET LOCAL {name} = '{value}'")
            cursor.execute(f"SELECT * FROM ({query}) AS result LIMIT 0")  # planned, not run: the names and types
            columns = cursor.description
            cursor.copy_expert(copy, buffer)
    finally:
        connection.close()
    # From SQL_ASCII, a sequence that is not UTF-8 becomes U+FFFD rather than fail the run, or reach a log as bytes.
    rows = [line.split("\t") for line in buffer.getvalue().decode("utf-8", errors="replace").split("\n")[:-1]]
    fields = zip(*rows) if rows else [()] * len(columns)
    return pd.DataFrame(
        {
            column.name: _as_stored(values, column.type_code, column.name in text_columns)
            for column, values in zip(columns, fields)
        }
    )


@contextlib.contextmanager
def _driver_errors_as_sqlalchemy(
    dialect: sa.Dialect, driver_connection, statement: str, invalidate: Callable[[BaseException], None]
) -> Iterator[None]:
    """Raise the driver's errors in `statement`, run on the driver's own connection, as SQLAlchemy
    raises them for its queries (`sqlalchemy.exc.OperationalError` and the like, the driver's error as
    `.orig`). A connection the error shows lost is `invalidate`d first, as SQLAlchemy does, so that the
    pool never hands it out again."""
    try:
        yield
    except dialect.loaded_dbapi.Error as error:
        lost = dialect.is_disconnect(error, driver_connection, None)
        if lost:
            invalidate(error)
        raise sa.exc.DBAPIError.instance(
            statement, None, error, dialect.loaded_dbapi.Error, connection_invalidated=lost, dialect=dialect
        ) from error


# What COPY's text format writes for a NULL, and the escapes it writes in a text (a backslash, and
# the control characters that would break a line or a field).
_NULL = "\\N"
_ESCAPE = re.compile(r"\\([\\bfnrtv])")
_ESCAPED = {"\\": "\\", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}
# PostgreSQL's type oids (pg_type) of the numbers a query returns: int8 (count(*)), int2, int4; and
# float4, float8, numeric. Any other type is read as text.
_INTEGERS = {20, 21, 23}
_FLOATS = {700, 701, 1700}
_STORED_NOT_FINITE = {"NaN", "Infinity", "-Infinity"}  # as COPY writes them


def _as_stored(fields: tuple[str, ...], type_oid: int, text: bool) -> pd.Series:
    """One column of COPY's text output (`fields`, one per row) as pandas. A text column (`text`, or
    any type but a number) is object: the texts unescaped, None for NULL. An integer column is int64,
    or float64 with NaN for NULL where it holds one. A float or numeric column is float64 with NaN for
    NULL, every value correctly rounded; or, where it holds a stored NaN or infinity, object, in which
    those values are the text PostgreSQL wrote for them and the others floats."""
    if text or type_oid not in _INTEGERS | _FLOATS:
        return pd.Series([None if field == _NULL else _unescape(field) for field in fields], dtype=object)
    if type_oid in _INTEGERS and _NULL not in fields:
        return pd.Series([int(field) for field in fields], dtype=np.int64)
    values = [np.nan if field == _NULL else field if field in _STORED_NOT_FINITE else float(field) for field in fields]
    return pd.Series(values, dtype=object if _STORED_NOT_FINITE.intersection(fields) else np.float64)


def _unescape(field: str) -> str:
    return _ESCAPE.sub(lambda escape: _ESCAPED[escape.group(1)], field) if "\\" in field else field


def write_analytics(engine: sa.Engine, rows: pd.DataFrame, updated_at: datetime, lock_timeout_seconds: float = 600) -> int:
    """Write every row's analytics columns into `cpu`, in one transaction; returns the rows updated.

    `rows` holds `cpu_id` and analytics columns of the `cpu` table (NaN and None are written as NULL);
    `price_target_updated_at`, `performance_metrics_updated_at` and, where `cpu` has it, `updated_at`
    become `updated_at` (naive UTC). Nothing is created, not even a temporary table: on PostgreSQL one
    `UPDATE ... FROM unnest(<one array per column>)`, elsewhere one executemany UPDATE.
    On PostgreSQL a transaction-scoped advisory lock makes a second write-back wait for the first,
    even from another Dagster instance; past `lock_timeout_seconds` it gives up with WriteBackBusy.
    Raises sqlalchemy.exc.DataError, everything rolled back, for a value a column cannot store.
    """
    if rows.empty:
        return 0
    columns = [column for column in rows.columns if column != "cpu_id"]
    stamped = ["price_target_updated_at", "performance_metrics_updated_at"]
    with engine.begin() as connection:
        if ROW_UPDATED_AT in {column["name"] for column in sa.inspect(connection).get_columns("cpu")}:
            stamped.append(ROW_UPDATED_AT)
        if connection.dialect.name != "postgresql":
            assignments = _assignments(columns, stamped, lambda column: f":{column}")
            parameters = [{**row, "updated_at": updated_at} for row in _records(rows)]
            return connection.execute(sa.text(f"UPDATE cpu SET {assignments} WHERE id = :cpu_id"), parameters).rowcount
        _take_write_back_lock(connection, lock_timeout_seconds)
        staged = ", ".join(f"CAST(:{column} AS {_array_type(column)})" for column in ["cpu_id", *columns])
        assignments = _assignments(columns, stamped, lambda column: f"staged.{column}")
        update = (
            f"UPDATE cpu SET {assignments} FROM unnest({staged}) AS staged(cpu_id, {', '.join(columns)}) "
            "WHERE cpu.id = staged.cpu_id"
        )
        arrays = {column: _array_literal(rows[column]) for column in rows.columns}
        return connection.execute(sa.text(update), {**arrays, "updated_at": updated_at}).rowcount


def _take_write_back_lock(connection: sa.Connection, timeout_seconds: float) -> None:
    connection.execute(sa.text(f"SET LOCAL lock_timeout = '{int(timeout_seconds * 1000)}ms'"))
    try:
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": WRITE_BACK_LOCK_KEY})
    except sa.exc.OperationalError as error:
        if getattr(error.orig, "pgcode", None) == "55P03":  # lock_not_available
            raise WriteBackBusy(
                f"another write-back of the cpu table held its lock for over {timeout_seconds:g} s; nothing was written"
            ) from None
        raise


def _assignments(columns: list[str], stamped: list[str], value: Callable[[str], str]) -> str:
    return ", ".join([f"{column} = {value(column)}" for column in columns] + [f"{column} = :updated_at" for column in stamped])


def _array_type(column: str) -> str:
    """The PostgreSQL array type a column's values are sent as. Text, not varchar(n): an explicit cast to
    varchar(n) would cut a value too long, where the assignment to the column refuses it."""
    if column == "cpu_id" or isinstance(schema.cpu.c[column].type, sa.Integer):
        return "integer[]"
    if isinstance(schema.cpu.c[column].type, sa.Float):
        return "double precision[]"
    return "text[]"


def _array_literal(values: pd.Series) -> str:
    """The column as one PostgreSQL array literal ('{1.5,NULL,"high"}'): PostgreSQL parses it in one
    pass, three times faster than a list the driver spells out as ARRAY[...] with a constant per value.
    Floats are written as their repr, which reads back as the same double; NaN, NA and None as NULL."""
    return "{" + ",".join(_array_element(value) for value in values.tolist()) + "}"


def _array_element(value) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "NULL"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return repr(value)


def _records(rows: pd.DataFrame) -> list[dict]:
    return rows.astype(object).where(rows.notna(), None).to_dict("records")


def write_history(engine: sa.Engine, table: sa.Table, day: date, rows: pd.DataFrame) -> int:
    """Replace the day's snapshot in the history `table` with `rows` (and nothing else); returns the rows written.

    Raises SchemaMismatch on PostgreSQL when the table has not been set up (`cpu-pipeline setup`).
    """
    return _replace(engine, table, rows.assign(day=day), table.delete().where(table.c.day == day))


def write_trends(engine: sa.Engine, table: sa.Table, rows: pd.DataFrame) -> int:
    """Replace every row of the trends `table` with `rows`; returns the rows written.

    Raises SchemaMismatch on PostgreSQL when the table has not been set up (`cpu-pipeline setup`).
    """
    return _replace(engine, table, rows, table.delete())


def load_history(engine: sa.Engine, table: sa.Table, since: date, until: date) -> pd.DataFrame:
    """The good prices of the snapshots from `since` to `until`: `cpu_id`, `day`, `price_target_good`.

    Raises SchemaMismatch on PostgreSQL when the table has not been set up (`cpu-pipeline setup`).
    """
    _require_pipeline_table(engine, table)
    query = sa.select(table.c.cpu_id, table.c.day, table.c.price_target_good).where(table.c.day.between(since, until))
    with engine.connect() as connection:
        return pd.read_sql_query(query, connection)


def _require_pipeline_table(engine: sa.Engine, table: sa.Table) -> None:
    """The embedded SQLite file gets the pipeline's tables on first use; on PostgreSQL the jobs create
    nothing (they run with no CREATE privilege), so a table not set up is named with the command."""
    if engine.dialect.name != "postgresql":
        table.create(engine, checkfirst=True)
    elif not sa.inspect(engine).has_table(table.name, schema=table.schema):
        raise SchemaMismatch(missing_table(table.fullname))


def _replace(engine: sa.Engine, table: sa.Table, rows: pd.DataFrame, delete: sa.Delete) -> int:
    """Delete, then insert, in one transaction: a re-run replaces exactly what it wrote before."""
    _require_pipeline_table(engine, table)
    rows = rows[[column.name for column in table.columns]]
    with engine.begin() as connection:
        connection.execute(delete)
        insert(connection, table, rows)
    return len(rows)


def insert(connection: sa.Connection, table: sa.Table, rows: pd.DataFrame) -> None:
    """Bulk-insert `rows` on the connection's own transaction: COPY on PostgreSQL (6x faster than
    INSERTs at 5,000 rows), executemany elsewhere."""
    if connection.dialect.name != "postgresql":
        if len(rows):
            connection.execute(table.insert(), _records(rows))
        return
    buffer = io.StringIO()
    rows.to_csv(buffer, index=False, header=False)
    buffer.seek(0)
    name = connection.dialect.identifier_preparer.format_table(table)
    copy = f"COPY {name} ({', '.join(rows.columns)}) FROM STDIN WITH (FORMAT csv)"
    driver_connection = connection.connection.driver_connection
    with (
        _driver_errors_as_sqlalchemy(connection.dialect, driver_connection, copy, connection.invalidate),
        driver_connection.cursor() as cursor,
    ):
        cursor.copy_expert(copy, buffer)
