"""The least privilege the pipeline's role needs on PostgreSQL, as GRANT statements.

- the recalculation: `SELECT` on the columns it reads of `cpu` and `listing` (the write-back's
  `WHERE cpu.id = ...` is covered by the read of `cpu.id`) and `UPDATE` on the columns it writes of
  `cpu`: the analytics columns and, where `cpu` has it, `updated_at`;
- the listing-change sensor: `SELECT` on `listing.updated_at` where the column exists (its row-change
  counters in `pg_stat_user_tables` are readable by every role);
- the history job: `USAGE` on the pipeline's own schema and `SELECT`, `INSERT`, `DELETE` on its two
  tables (a day's snapshot is deleted, then inserted);
- `CONNECT` on the database and `USAGE` on the schema of Deal Brain's tables, which PUBLIC holds by
  default but a hardened database revokes.

Nothing else: no `TEMPORARY` (the write-back stages no table), no `CREATE` anywhere (the schema and
the pipeline's tables are created once by the owner, `cpu-pipeline setup`).
"""

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from cpu_pipeline.database import bulk, change_signal, schema

_quote = postgresql.dialect().identifier_preparer.quote


def grant_statements(
    role: str, database: str, app_schema: str, pipeline_schema: str, with_updated_at: frozenset[str]
) -> list[str]:
    """The GRANT statements, each ending in `;`, that give `role` exactly what both jobs and the sensors need.

    `app_schema` is the schema of Deal Brain's `cpu` and `listing` (`public`), `pipeline_schema` that
    of the pipeline's own tables; `with_updated_at` names those of `cpu` and `listing` that have an
    `updated_at` column. Every name is quoted where PostgreSQL needs it.
    """
    grantee, app, own = _quote(role), _quote(app_schema), _quote(pipeline_schema)
    written = [*schema.ANALYTICS_COLUMNS, *([bulk.ROW_UPDATED_AT] if "cpu" in with_updated_at else [])]
    listing_read = [*bulk.READ_COLUMNS["listing"], *([change_signal.UPDATED_AT] if "listing" in with_updated_at else [])]
    pipeline_tables = ", ".join(f"{own}.{_quote(table.name)}" for table in schema.pipeline_tables(pipeline_schema))
    return [
        f"GRANT CONNECT ON DATABASE {_quote(database)} TO {grantee};",
        f"GRANT USAGE ON SCHEMA {app} TO {grantee};",
        f"GRANT SELECT ({_columns(bulk.READ_COLUMNS['cpu'])}) ON {app}.cpu TO {grantee};",
        f"GRANT UPDATE ({_columns(written)}) ON {app}.cpu TO {grantee};",
        f"GRANT SELECT ({_columns(listing_read)}) ON {app}.listing TO {grantee};",
        f"GRANT USAGE ON SCHEMA {own} TO {grantee};",
        f"GRANT SELECT, INSERT, DELETE ON {pipeline_tables} TO {grantee};",
    ]


def _columns(names: list[str]) -> str:
    return ", ".join(_quote(name) for name in names)


def grants_for(engine: sa.Engine, role: str, pipeline_schema: str) -> list[str]:
    """`grant_statements` for the database behind `engine`: its name, the schema its `cpu` table resolves
    to, and which of `cpu` and `listing` have `updated_at`, read from the catalogue.

    Raises ValueError for a database other than PostgreSQL, or one without a `cpu` table.
    """
    if engine.dialect.name != "postgresql":
        raise ValueError(f"grants apply to PostgreSQL; {engine.dialect.name} has no roles")
    with engine.connect() as connection:
        found = connection.execute(
            sa.text(
                "SELECT current_database(), n.nspname, ARRAY(SELECT a.attrelid::regclass::text FROM pg_attribute a "
                "WHERE a.attrelid IN (c.oid, to_regclass('listing')) AND a.attname = 'updated_at' AND NOT a.attisdropped) "
                "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass('cpu')"
            )
        ).first()
    if found is None:
        raise ValueError("the database has no table `cpu`: point --database-url at Deal Brain's database")
    database, app_schema, with_updated_at = found
    return grant_statements(role, database, app_schema, pipeline_schema, frozenset(with_updated_at))
