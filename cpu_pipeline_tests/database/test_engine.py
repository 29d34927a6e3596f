import pytest
import sqlalchemy as sa

from cpu_pipeline.database.engine import UnsupportedDatabaseURL, backend, connection_url, driver_in_use, make_engine

# Deal Brain's own URLs (DATABASE_URL names asyncpg, SYNC_DATABASE_URL psycopg 3) and the plain forms.
DEAL_BRAIN_FORMS = ["postgresql+asyncpg", "postgresql+psycopg", "postgresql+psycopg2", "postgresql", "postgres"]


@pytest.mark.parametrize("scheme", DEAL_BRAIN_FORMS)
def test_every_postgres_form_connects_with_psycopg2_to_the_same_place(scheme):
    target = connection_url(f"{scheme}://deal_brain:s3cr3t@db.example:6432/deal_brain?application_name=nightly")
    assert target.drivername == "postgresql+psycopg2"
    assert (target.username, target.password, target.host, target.port, target.database) == (
        "deal_brain",
        "s3cr3t",
        "db.example",
        6432,
        "deal_brain",
    )
    assert dict(target.query) == {"application_name": "nightly"}
    assert driver_in_use(f"{scheme}://u@h/db") == f"psycopg2 (URL scheme {scheme})"
    assert backend(f"{scheme}://u@h/db") == "postgres"


def test_sqlite_stays_sqlite():
    assert connection_url("sqlite:////tmp/app.sqlite").render_as_string() == "sqlite:////tmp/app.sqlite"
    assert driver_in_use("sqlite:////tmp/app.sqlite") == "sqlite3 (URL scheme sqlite)"


@pytest.mark.parametrize("mode", ["disable", "require", "verify-full"])
def test_asyncpgs_ssl_becomes_libpqs_sslmode(mode):
    assert dict(connection_url(f"postgresql+asyncpg://u@h/db?ssl={mode}").query) == {"sslmode": mode}


@pytest.mark.parametrize(
    "url, message",
    [
        ("postgresql+asyncpg://u@h/db?ssl=true", "`ssl=true` has no libpq equivalent; use one of disable, allow"),
        ("postgresql+asyncpg://u@h/db?ssl=require&sslmode=require", "both `ssl` and `sslmode`"),
        ("postgresql://u@h/db?ssl=require", 'invalid connection option "ssl"'),  # not asyncpg's URL: not translated
        (
            "postgresql+asyncpg://u@h/db?prepared_statement_cache_size=0",
            'invalid connection option "prepared_statement_cache_size"',
        ),
    ],
)
def test_a_parameter_libpq_cannot_take_fails_at_once_rather_than_being_dropped(url, message):
    with pytest.raises(UnsupportedDatabaseURL, match=message):
        connection_url(url)


@pytest.mark.parametrize("url", ["mysql+pymysql://deal_brain:s3cr3t@db/deal_brain", "postgresql+pg8000://deal_brain:s3cr3t@db/x"])
def test_an_unknown_scheme_is_named_with_the_accepted_ones_and_never_the_password(url):
    with pytest.raises(UnsupportedDatabaseURL) as failure:
        make_engine(url)
    message = str(failure.value)
    assert f"scheme `{sa.make_url(url).drivername}` is not supported" in message
    assert all(f"`{scheme}://`" in message for scheme in [*DEAL_BRAIN_FORMS, "sqlite"])
    assert "s3cr3t" not in message


def test_an_engine_from_deal_brains_url_uses_psycopg2():
    engine = make_engine("postgresql+asyncpg://u:p@127.0.0.1:1/db")
    assert engine.dialect.driver == "psycopg2"
    engine.dispose()
