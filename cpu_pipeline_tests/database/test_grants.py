import pytest
import sqlalchemy as sa

from cpu_pipeline.database import grants, schema
from cpu_pipeline_tests import catalogues

ANALYTICS = (
    "price_target_good, price_target_great, price_target_fair, price_target_stddev, price_target_sample_size, "
    "price_target_confidence, price_target_updated_at, dollar_per_mark_single, dollar_per_mark_multi, "
    "performance_value_percentile, performance_value_rating, performance_metrics_updated_at"
)


def test_the_statements_grant_the_columns_read_and_written_and_the_pipelines_own_tables():
    both = frozenset({"cpu", "listing"})
    assert grants.grant_statements("cpu_pipeline", "deal_brain", "public", "cpu_pipeline", with_updated_at=both) == [
        "GRANT CONNECT ON DATABASE deal_brain TO cpu_pipeline;",
        "GRANT USAGE ON SCHEMA public TO cpu_pipeline;",
        "GRANT SELECT (id, name, manufacturer, cpu_mark_multi, cpu_mark_single) ON public.cpu TO cpu_pipeline;",
        f"GRANT UPDATE ({ANALYTICS}, updated_at) ON public.cpu TO cpu_pipeline;",
        "GRANT SELECT (id, cpu_id, status, adjusted_price_usd, updated_at) ON public.listing TO cpu_pipeline;",
        "GRANT USAGE ON SCHEMA cpu_pipeline TO cpu_pipeline;",
        "GRANT SELECT, INSERT, DELETE ON cpu_pipeline.cpu_analytics_history, cpu_pipeline.cpu_price_trends TO cpu_pipeline;",
    ]


def test_without_updated_at_it_is_not_granted_and_odd_names_are_quoted():
    statements = grants.grant_statements("Night Job", "deal-brain", "public", "user", with_updated_at=frozenset())
    assert statements[0] == 'GRANT CONNECT ON DATABASE "deal-brain" TO "Night Job";'
    assert statements[3] == f'GRANT UPDATE ({ANALYTICS}) ON public.cpu TO "Night Job";'
    assert statements[4] == 'GRANT SELECT (id, cpu_id, status, adjusted_price_usd) ON public.listing TO "Night Job";'
    assert (
        statements[-1] == 'GRANT SELECT, INSERT, DELETE ON "user".cpu_analytics_history, "user".cpu_price_trends TO "Night Job";'
    )


def test_the_database_says_its_name_and_which_tables_have_updated_at(postgres_url):
    catalogues.write(postgres_url, [], [])
    engine = sa.create_engine(postgres_url)
    database = sa.make_url(postgres_url).database
    with_stamp = grants.grants_for(engine, "night", schema.DEFAULT_PIPELINE_SCHEMA)
    assert with_stamp[0] == f"GRANT CONNECT ON DATABASE {database} TO night;"
    assert with_stamp[3].startswith(f"GRANT UPDATE ({ANALYTICS}, updated_at) ON public.cpu")
    assert with_stamp[4].startswith("GRANT SELECT (id, cpu_id, status, adjusted_price_usd, updated_at) ON public.listing")
    with engine.begin() as connection:
        connection.execute(sa.text("ALTER TABLE cpu DROP COLUMN updated_at"))
        connection.execute(sa.text("ALTER TABLE listing DROP COLUMN updated_at"))
    without = grants.grants_for(engine, "night", schema.DEFAULT_PIPELINE_SCHEMA)
    assert without[3].startswith(f"GRANT UPDATE ({ANALYTICS}) ON")
    assert without[4].startswith("GRANT SELECT (id, cpu_id, status, adjusted_price_usd) ON")
    engine.dispose()


def test_a_database_without_cpu_or_roles_is_refused(postgres_url, sqlite_url):
    with pytest.raises(ValueError, match="no table `cpu`"):
        grants.grants_for(sa.create_engine(postgres_url), "night", "cpu_pipeline")
    with pytest.raises(ValueError, match="PostgreSQL"):
        grants.grants_for(sa.create_engine(sqlite_url), "night", "cpu_pipeline")
