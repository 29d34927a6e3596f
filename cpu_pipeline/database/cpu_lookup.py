"""One CPU looked up by id or name, with its listings' prices and its trend: what `cpu-pipeline show`
reports. Reads only; the pipeline's tables may not exist yet (no run has written them)."""

import pandas as pd
import sqlalchemy as sa

from cpu_pipeline.database.schema import ANALYTICS_COLUMNS, cpu, listing


def find_cpus(engine: sa.Engine, name_or_id: str) -> pd.DataFrame:
    """The rows of `cpu` that `name_or_id` names, with their scores and analytics columns: the CPU with
    that id when it is a whole number and one has it, else the CPU of that name (case-insensitive),
    else every CPU whose name contains it (case-insensitive), by name. Empty when none matches."""
    columns = [cpu.c.id, cpu.c.name, cpu.c.manufacturer, cpu.c.cpu_mark_multi, cpu.c.cpu_mark_single]
    select = sa.select(*columns, *(cpu.c[name] for name in ANALYTICS_COLUMNS)).order_by(cpu.c.name, cpu.c.id)
    wanted = name_or_id.strip()
    conditions = [
        sa.func.lower(cpu.c.name) == wanted.lower(),
        sa.func.lower(cpu.c.name).contains(wanted.lower(), autoescape=True),
    ]
    if wanted.isdigit():
        conditions.insert(0, cpu.c.id == int(wanted))
    with engine.connect() as connection:
        for condition in conditions:
            found = pd.read_sql_query(select.where(condition), connection)
            if len(found):
                return found
    return found


def active_prices(engine: sa.Engine, cpu_id: int) -> pd.DataFrame:
    """The CPU's active listings: `id` and `adjusted_price_usd` as stored. On PostgreSQL the price comes
    as text, so that a stored NaN or infinity reads as what it is rather than as a missing value."""
    price = listing.c.adjusted_price_usd
    if engine.dialect.name == "postgresql":
        price = sa.cast(price, sa.Text).label("adjusted_price_usd")
    select = sa.select(listing.c.id, price).where(listing.c.cpu_id == cpu_id, listing.c.status == "active").order_by(listing.c.id)
    with engine.connect() as connection:
        return pd.read_sql_query(select, connection)


def trend_of(engine: sa.Engine, trends: sa.Table, cpu_id: int) -> dict | None:
    """The CPU's row of the pipeline's `cpu_price_trends` as a dict, None when it has none or the
    table does not exist yet."""
    if not sa.inspect(engine).has_table(trends.name, schema=trends.schema):
        return None
    with engine.connect() as connection:
        row = connection.execute(sa.select(trends).where(trends.c.cpu_id == cpu_id)).mappings().first()
    return dict(row) if row else None
