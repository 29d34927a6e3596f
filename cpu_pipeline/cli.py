"""`cpu-pipeline`: run the recalculation once with a short summary, prepare a database, or generate a demo catalogue.

cpu-pipeline run                     # the job, on DATABASE_URL or the embedded default
cpu-pipeline setup                   # once, as the database's owner: the pipeline's schema, tables and indexes
cpu-pipeline grants --role cpu_pipeline   # the GRANT statements the pipeline's role needs
cpu-pipeline generate --cpus 5000 --listings 1000000 --replace
cpu-pipeline serve                   # webserver + daemon on the production instance (instances/production)
cpu-pipeline drain                   # before stopping a code server: runs in progress finish or are canceled
cpu-pipeline health [--json]         # for a monitor: exit 0 when the daemon beats and the cpu table is fresh
cpu-pipeline migrate                 # after moving Dagster's pin, the stack stopped: back up, then migrate its storage
cpu-pipeline show "AMD Ryzen 5 5600" # one CPU: its targets, value, sample, confidence, errors and trend
"""

# Only the standard library here: `cpu-pipeline --help` answers at once. Each command imports what it
# needs (Dagster, pandas and SQLAlchemy take seconds to import) when it runs.
from __future__ import annotations

import argparse
import contextlib
import json
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import dagster as dg
    import sqlalchemy as sa

    from cpu_pipeline import settings

JOB_NAME = "recalculate_cpu_metrics"
SUMMARY_FIGURES = ["cpus_total", "cpus_written", "cpus_with_targets", "cpus_insufficient", "cpus_rated", "cpus_in_error"]


def run(args: argparse.Namespace, configured: settings.Settings) -> int:
    import dagster as dg

    from cpu_pipeline.database.engine import masked
    from cpu_pipeline.definitions import defs
    from cpu_pipeline.lib.metadata import plain_text
    from cpu_pipeline.ops import run_console

    instance = dg.DagsterInstance.get() if configured.dagster_home else dg.DagsterInstance.ephemeral()
    job = defs.resolve_job_def(JOB_NAME)
    if not args.verbose:
        job = job.with_logger_defs({"console": run_console.console_logger})
    started = time.perf_counter()
    result = job.execute_in_process(
        instance=instance,
        raise_on_error=False,
        run_config={"loggers": {"console": {"config": {"log_level": "INFO"}}}},
    )
    elapsed = time.perf_counter() - started
    print(f"\n{JOB_NAME}: {'SUCCESS' if result.success else 'FAILURE'} in {elapsed:.1f} s (run {result.run_id})")
    print(f"database: {masked(configured.database_url)}")
    written = [event for event in result.get_asset_materialization_events() if event.asset_key == dg.AssetKey("cpu_analytics")]
    if written:
        metadata = {key: value.value for key, value in written[0].materialization.metadata.items()}
        print(
            "  ".join(f"{name}={metadata[name]}" for name in SUMMARY_FIGURES)
            + f"  error_rate={metadata['error_rate_percent']:.2f}%"
        )
        print("\nTen best-value CPUs:")
        print(plain_text(metadata["best_value"]))
    for line in run_console.failure_summary(result.all_events):
        print(line, file=sys.stderr)
    return 0 if result.success else 1


def generate(args: argparse.Namespace, configured: settings.Settings) -> int:
    from tqdm import tqdm

    from cpu_pipeline.database import demo_catalogue

    started = time.perf_counter()
    cpus, listings = demo_catalogue.generate_catalogue(args.cpus, args.listings, args.seed, args.profile)
    # On stderr, and only on a terminal (tqdm's `disable=None`): a log or a pipe gets the last line alone.
    progress = tqdm(total=len(cpus) + len(listings), unit=" rows", unit_scale=True, desc="writing", disable=None)
    with _database(args, configured) as engine, progress:
        try:
            demo_catalogue.write_catalogue(engine, cpus, listings, replace=args.replace, progress=progress.update)
        except demo_catalogue.CatalogueNotEmpty as error:
            raise _CommandFailed(f"{error}: pass --replace to delete them first") from None
    print(
        f"wrote {len(cpus):,} CPUs and {len(listings):,} listings into {_shown(engine)} in {time.perf_counter() - started:.1f} s"
    )
    return 0


def setup(args: argparse.Namespace, configured: settings.Settings) -> int:
    from cpu_pipeline.database import listing_indexes, schema

    with _database(args, configured) as engine:
        created = schema.set_up(engine, args.schema)
        skipped = listing_indexes.why_skipped(engine)
    where = _shown(engine)
    for thing in created:
        print(f"created {thing} in {where}")
    if skipped:
        print(skipped)
    if not created:
        tables = schema.pipeline_tables_in(engine, args.schema)
        print(f"nothing to create: {', '.join(table.fullname for table in tables)} and what they need already exist in {where}")
    if engine.dialect.name == "postgresql":
        print("next, give the pipeline's role its privileges: cpu-pipeline grants --role <role>")
    return 0


def grant(args: argparse.Namespace, configured: settings.Settings) -> int:
    from cpu_pipeline.database import grants

    with _database(args, configured) as engine:
        statements = grants.grants_for(engine, args.role, args.schema)
    print(f"-- the privileges of {args.role} in {_shown(engine)}; run as the database's owner")
    print("\n".join(statements))
    return 0


def health(args: argparse.Namespace, configured: settings.Settings) -> int:
    import dagster as dg

    from cpu_pipeline.database.engine import explain, masked
    from cpu_pipeline.ops.health import DEFAULT_HEARTBEAT_TOLERANCE_SECONDS, check_health

    home = _instance_home(configured)
    try:
        with dg.DagsterInstance.from_config(str(home)) as instance:
            tolerance = getattr(args, "heartbeat_tolerance", DEFAULT_HEARTBEAT_TOLERANCE_SECONDS)
            found = check_health(
                instance, configured.freshness_window_seconds, tolerance, tick_failures=configured.tick_failures_before_alert
            )
    except Exception as error:  # an instance that cannot be opened is unhealthy too, for the same monitor
        # The production instance's storage is DAGSTER_PG_URL: named, masked; the cause in one line, scrubbed.
        storage = f" (DAGSTER_PG_URL {masked(configured.dagster_pg_url)})" if not configured.dagster_home else ""
        raise _CommandFailed(
            f"cannot read the Dagster instance in {home}{storage}: {explain(error, configured.dagster_pg_url or '')}"
        ) from None
    print(json.dumps(found.as_json()) if args.json else found.line())
    return 0 if found.healthy else 1


def _shown(engine: sa.Engine) -> str:
    """The engine's URL as a command prints it, through the project's masking (`engine.masked`): SQLAlchemy's
    own (`hide_password=True`) hides the userinfo's password but shows a `?password=` in full."""
    from cpu_pipeline.database.engine import masked

    return masked(engine.url.render_as_string(hide_password=False))


def _instance_home(configured: settings.Settings) -> Path:
    """The Dagster instance a command works on: DAGSTER_HOME, else the production instance
    (instances/production in the working folder), which needs DAGSTER_PG_URL."""
    from cpu_pipeline.ops import service

    if configured.dagster_home:
        return configured.dagster_home
    if not configured.dagster_pg_url:
        raise _CommandFailed(
            "DAGSTER_PG_URL is not set: the production instance keeps the daemon's heartbeats and the runs there"
        )
    return Path.cwd() / service.PRODUCTION_INSTANCE


@contextlib.contextmanager
def _instance(home: Path, storage_url: str | None) -> Iterator[dg.DagsterInstance]:
    """The Dagster instance in `home`, closed afterwards. A folder without dagster.yaml (Dagster would
    make a default instance there) or an instance that cannot be opened is a _CommandFailed, its cause
    said by the one translation of database errors (`engine.explain`), scrubbed of `storage_url`'s secrets."""
    import dagster as dg

    from cpu_pipeline.database.engine import explain

    if not (home / "dagster.yaml").is_file():
        raise _CommandFailed(f"{home} holds no dagster.yaml: not a Dagster instance (set DAGSTER_HOME to its folder)")
    try:
        instance = dg.DagsterInstance.from_config(str(home))
    except Exception as error:  # an unreachable server, a bad dagster.yaml: one line, as `health` says it
        raise _CommandFailed(f"cannot open the Dagster instance in {home}: {explain(error, storage_url or '')}") from None
    with instance:
        yield instance


def migrate(args: argparse.Namespace, configured: settings.Settings) -> int:
    from cpu_pipeline.ops import migrate as migration

    home = _instance_home(configured)
    with _instance(home, configured.dagster_pg_url) as instance:
        try:
            migration.migrate(instance, home, args.backup_dir, back_up=not args.no_backup)
        except migration.MigrationRefused as refused:
            raise _CommandFailed(f"refused: {refused}") from None
    return 0


def preflight(_: argparse.Namespace, configured: settings.Settings) -> int:
    from cpu_pipeline.ops import service, storage_schema

    home = _instance_home(configured)
    with _instance(home, configured.dagster_pg_url) as instance:
        if out_of_date := storage_schema.out_of_date(instance, home):
            raise _CommandFailed(out_of_date)
        try:
            service.check_no_other_daemon(instance)
        except service.StackError as error:
            raise _CommandFailed(str(error)) from None
    print(f"the instance in {home} is ready: its storage is migrated and no dagster-daemon runs on it")
    return 0


def drain(_: argparse.Namespace, configured: settings.Settings) -> int:
    from cpu_pipeline.ops import in_flight_runs

    with _instance(_instance_home(configured), configured.dagster_pg_url) as instance:
        endings = in_flight_runs.drain(instance, configured.stop_grace_seconds)
    print(f"drained: {'; '.join(str(ending) for ending in endings) or 'no run was in progress'}.", flush=True)
    return 0


class _CommandFailed(Exception):
    """A command's expected failure: printed as one line, exit status 1 (2 for a usage error)."""

    def __init__(self, message: str, status: int = 1):
        super().__init__(message)
        self.status = status


@contextlib.contextmanager
def _database(args: argparse.Namespace, configured: settings.Settings) -> Iterator[sa.Engine]:
    """An engine on `--database-url` or DATABASE_URL, disposed afterwards; its errors become _CommandFailed,
    one line each, the cause first (`engine.explain`)."""
    import sqlalchemy as sa

    from cpu_pipeline.database.engine import UnsupportedDatabaseURL, explain, make_engine

    url = args.database_url or (None if configured.embedded_database else configured.database_url)
    if not url:
        raise _CommandFailed("set DATABASE_URL or pass --database-url", status=2)
    try:
        engine = make_engine(url)
    except UnsupportedDatabaseURL as error:
        raise _CommandFailed(explain(error, url), status=2) from None
    try:
        yield engine
    except (ValueError, sa.exc.DBAPIError) as error:  # ValueError: MissingDatabase, grants on SQLite
        raise _CommandFailed(explain(error, url)) from None
    finally:
        engine.dispose()


def show(args: argparse.Namespace, configured: settings.Settings) -> int:
    from cpu_pipeline import cpu_report

    return cpu_report.show(args.cpu, configured)


def serve(args: argparse.Namespace, configured: settings.Settings) -> int:
    from cpu_pipeline.ops import service

    try:
        return service.serve(Path.cwd(), args.port, args.host, configured)
    except service.StackError as error:
        print(f"serve: {error}", file=sys.stderr)
        return 2


# Where an option's default comes from, for its help: the variable that sets it, and its own default
# when the variable is unset (settings.VARIABLES; a test keeps the two the same).
DATABASE_URL_HELP = "SQLAlchemy URL, e.g. postgresql://user:password@host:5432/deal_brain (default: $DATABASE_URL)"
SCHEMA_HELP = "the schema of the pipeline's own tables (default: $CPU_PIPELINE_SCHEMA, else cpu_pipeline)"


class _MaskingParser(argparse.ArgumentParser):
    """argparse's parser whose usage errors show every URL in them masked (`engine.masked`): argparse
    repeats the arguments it refuses, e.g. `run --database-url postgresql://user:secret@host/db`."""

    def error(self, message: str):
        if "://" in message:
            from cpu_pipeline.database.engine import masked

            message = re.sub(r"[A-Za-z][\w+.-]*://\S+", lambda url: masked(url.group()), message)
        super().error(message)


def _parser() -> argparse.ArgumentParser:
    parser = _MaskingParser(prog="cpu-pipeline", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)

    def command(name: str, help: str, handler, environment: str = "") -> argparse.ArgumentParser:
        # Each subcommand's --help: what it does, its options with their defaults, the variables it reads.
        added = commands.add_parser(
            name,
            help=help,
            description=help,
            epilog=f"environment: {environment}" if environment else None,
            formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        )
        added.set_defaults(handler=handler)
        return added

    running = command(
        "run",
        "run the recalculation once and print a summary; a failure's cause in one line",
        run,
        "DATABASE_URL (default: the embedded demo database, data/cpu_pipeline.sqlite, in $CPU_PIPELINE_DATA_DIR), "
        "DAGSTER_HOME (default: a throwaway instance; `make run` sets data/dagster_home), and every variable of "
        "the README's table",
    )
    running.add_argument(
        "--verbose", action="store_true", help="print Dagster's traceback of every failure (the run's stored log keeps them)"
    )
    setting_up = command(
        "setup",
        "create the pipeline's schema, its two tables and its two indexes on listing (updated_at; the active "
        "listings' cpu_id and price) where missing (once, as the database's owner)",
        setup,
        "DATABASE_URL, CPU_PIPELINE_SCHEMA",
    )
    granting = command(
        "grants",
        "print the GRANT statements that give a role exactly the privileges the pipeline needs",
        grant,
        "DATABASE_URL, CPU_PIPELINE_SCHEMA",
    )
    granting.add_argument("--role", required=True, default=argparse.SUPPRESS, help="the role the pipeline connects as")
    for subcommand in (setting_up, granting):
        subcommand.add_argument("--database-url", help=DATABASE_URL_HELP, default=argparse.SUPPRESS)
        subcommand.add_argument("--schema", help=SCHEMA_HELP, default=argparse.SUPPRESS)
    generating = command(
        "generate",
        "write a deterministic demo catalogue into a database (a progress bar on a terminal)",
        generate,
        "DATABASE_URL",
    )
    generating.add_argument("--cpus", type=int, default=300, help="how many CPUs")
    generating.add_argument("--listings", type=int, default=5000, help="how many listings")
    generating.add_argument("--seed", type=int, default=42, help="the random seed: the same seed, the same catalogue")
    generating.add_argument(
        "--profile",
        choices=["even", "lopsided"],
        default="even",
        help="how the listings spread over the CPUs: even (default), or lopsided as a real marketplace's "
        "(a heavy tail, one CPU with 6%% of them)",
    )
    generating.add_argument("--database-url", help=DATABASE_URL_HELP, default=argparse.SUPPRESS)
    generating.add_argument("--replace", action="store_true", help="delete the rows already in cpu and listing first")
    serving = command(
        "serve",
        "run the Dagster webserver and daemon on the production instance (instances/production)",
        serve,
        "DATABASE_URL and DAGSTER_PG_URL (both required), DAGSTER_HOST, DAGSTER_PORT, and every variable of the README's table",
    )
    serving.add_argument(
        "--port", type=int, default=argparse.SUPPRESS, help="the webserver's port (default: $DAGSTER_PORT, else 3000)"
    )
    serving.add_argument(
        "--host",
        default=argparse.SUPPRESS,
        help="the address the webserver binds to (default: $DAGSTER_HOST, else 127.0.0.1, this host only)",
    )
    command(
        "drain",
        "let the runs in progress finish for the grace period, then cancel those left through Dagster's "
        "termination (a systemd unit's ExecStop, once the daemon has stopped launching)",
        drain,
        "CPU_PIPELINE_STOP_GRACE_SECONDS (default: 60), DAGSTER_HOME (default: instances/production, which reads DAGSTER_PG_URL)",
    )
    checking = command(
        "health",
        "exit 0 when the Dagster daemon beats, a recalculation wrote the cpu table within the freshness window and "
        "no sensor or schedule has failed its last ticks, else 1 with one line saying which and since when; "
        "each sensor's and schedule's last tick either way",
        health,
        "DAGSTER_HOME (default: instances/production, which reads DAGSTER_PG_URL), "
        "CPU_PIPELINE_FRESHNESS_WINDOW_SECONDS (default: 93600, 26 hours), "
        "CPU_PIPELINE_TICK_FAILURES_BEFORE_ALERT (default: 3)",
    )
    checking.add_argument("--json", action="store_true", help="print the findings as JSON")
    migrating = command(
        "migrate",
        "back up the Dagster instance's storage, then migrate it to the installed Dagster's schema, as `dagster "
        "instance migrate` does (refused while a dagster-daemon of the instance runs; see docs/operations.md)",
        migrate,
        "DAGSTER_HOME (default: instances/production, which reads DAGSTER_PG_URL)",
    )
    migrating.add_argument(
        "--backup-dir",
        type=Path,
        default=argparse.SUPPRESS,
        help="where the backup goes, in a folder named by the UTC time (default: $DAGSTER_HOME/backups)",
    )
    migrating.add_argument(
        "--no-backup", action="store_true", help="migrate without a backup: you have made your own (pg_dump missing)"
    )
    command(
        "preflight",
        "exit 0 when Dagster may start on the instance: its storage is migrated and no dagster-daemon runs on it; "
        "else 1 with one line saying which (`make dev` runs it before `dagster dev`)",
        preflight,
        "DAGSTER_HOME (default: instances/production, which reads DAGSTER_PG_URL)",
    )
    showing = command(
        "show",
        "one CPU's price targets, sample size, confidence, performance value, errors and price trend",
        show,
        "DATABASE_URL (default: the embedded demo database)",
    )
    showing.add_argument("cpu", metavar="CPU_NAME_OR_ID", help="its id, its whole name, or part of it (any case)")
    checking.add_argument(
        "--heartbeat-tolerance",
        type=float,
        default=argparse.SUPPRESS,
        help="seconds a daemon heartbeat may be late beyond Dagster's 30 s interval (default: 90)",
    )
    return parser


def _with_defaults(args: argparse.Namespace, configured: settings.Settings) -> argparse.Namespace:
    """`args` with every option left out that the settings (the environment) give a default."""
    defaults = {
        "database_url": None,
        "schema": configured.pipeline_schema,
        "port": configured.dagster_port,
        "host": configured.dagster_host,
        "backup_dir": None,
    }
    return argparse.Namespace(**{**defaults, **vars(args)})


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)  # --help and usage errors end here, before anything heavy is imported
    from cpu_pipeline import settings

    try:
        configured = settings.read()
    except settings.SettingsError as error:
        print(f"cpu-pipeline: {error}", file=sys.stderr)
        return 2
    try:
        return args.handler(_with_defaults(args, configured), configured)
    except _CommandFailed as failure:
        print(f"{args.command}: {failure}", file=sys.stderr)
        return failure.status


if __name__ == "__main__":
    sys.exit(main())
