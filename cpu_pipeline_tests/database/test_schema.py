import sqlalchemy as sa

from cpu_pipeline.database import schema
from cpu_pipeline_tests.postgres import relations


def test_setup_creates_the_schema_and_both_tables_once(postgres_url):
    engine = sa.create_engine(postgres_url)
    assert schema.create_pipeline_tables(engine) == [
        "schema cpu_pipeline",
        "table cpu_pipeline.cpu_analytics_history",
        "table cpu_pipeline.cpu_price_trends",
    ]
    after_first = relations(postgres_url)
    assert schema.create_pipeline_tables(engine) == []
    assert relations(postgres_url) == after_first
    created = {(space, name, kind) for space, name, kind in after_first if space == "cpu_pipeline"}
    assert {(name, kind) for _, name, kind in created} == {
        ("cpu_analytics_history", "r"),
        ("cpu_analytics_history_pkey", "i"),
        ("cpu_price_trends", "r"),
        ("cpu_price_trends_pkey", "i"),
    }  # no sequence
    assert not [relation for relation in after_first if relation[0] == "public"]
    engine.dispose()


def test_the_keys_are_plain_integers_without_defaults(postgres_url):
    engine = sa.create_engine(postgres_url)
    schema.create_pipeline_tables(engine, "own")
    inspector = sa.inspect(engine)
    for table in ("cpu_analytics_history", "cpu_price_trends"):
        [cpu_id] = [column for column in inspector.get_columns(table, schema="own") if column["name"] == "cpu_id"]
        assert str(cpu_id["type"]) == "INTEGER" and cpu_id["default"] is None and not cpu_id.get("identity")
    engine.dispose()


def test_on_sqlite_setup_keeps_the_tables_in_the_one_file(sqlite_url):
    engine = sa.create_engine(sqlite_url)
    assert schema.create_pipeline_tables(engine) == ["table cpu_analytics_history", "table cpu_price_trends"]
    assert schema.create_pipeline_tables(engine) == []
    engine.dispose()


def test_the_demo_tables_follow_deal_brains_types(postgres_url):
    engine = sa.create_engine(postgres_url)
    schema.create_missing_tables(engine)
    inspector = sa.inspect(engine)
    listing = {column["name"]: column for column in inspector.get_columns("listing")}
    assert str(listing["price_usd"]["type"]) == str(listing["adjusted_price_usd"]["type"]) == "DOUBLE PRECISION"
    for table in ("cpu", "listing"):
        stamps = [column for column in inspector.get_columns(table) if column["name"] in ("created_at", "updated_at")]
        assert [(column["nullable"], column["default"]) for column in stamps] == [(False, "now()")] * 2
    assert inspector.get_table_names() == ["cpu", "listing"]  # the pipeline's own tables are not among them
    engine.dispose()
