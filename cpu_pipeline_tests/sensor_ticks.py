"""A sensor evaluated tick after tick as the daemon evaluates it: in the code location's repository, on
one instance, each tick starting from the cursor the previous one left. Run status sensors then decide
for themselves which runs they see, as they do when served. And the other sensors' and schedules'
states and ticks, stored as the daemon stores them (`Instigator`)."""

import time

import dagster as dg
from dagster._core.remote_origin import RegisteredCodeLocationOrigin, RemoteInstigatorOrigin, RemoteRepositoryOrigin
from dagster._core.scheduler.instigation import (
    InstigatorState,
    InstigatorStatus,
    InstigatorType,
    ScheduleInstigatorData,
    SensorInstigatorData,
    TickData,
    TickStatus,
)
from dagster._utils.error import SerializableErrorInfo

from cpu_pipeline.definitions import defs

REPOSITORY = defs.get_repository_def()


class SensorTicks:
    def __init__(self, sensor: dg.SensorDefinition, instance: dg.DagsterInstance, resources: dict):
        self.sensor, self.instance, self.resources = sensor, instance, resources
        self.cursor: str | None = None
        self.tick()  # a run status sensor's first tick only places its cursor after what is already stored

    def tick(self):
        """Evaluate one tick; its SensorExecutionData (`run_requests`, `skip_message`, `cursor`)."""
        # Opened as a context, as the daemon opens it: a resource with a setup (AppDatabase) is set up and torn down.
        with dg.build_sensor_context(
            instance=self.instance,
            cursor=self.cursor,
            repository_name=REPOSITORY.name,
            repository_def=REPOSITORY,
            resources=self.resources,
        ) as context:
            data = self.sensor.evaluate_tick(context)
        self.cursor = data.cursor
        return data


PROBE_ERROR = "DatabaseUnavailable: cannot reach the application database"


class Instigator:
    """One sensor or schedule as the daemon records it: its state (running, declared in code) and its ticks."""

    def __init__(self, instance, name, kind=InstigatorType.SENSOR, repository=REPOSITORY.name, location="cpu_pipeline"):
        origin = RemoteInstigatorOrigin(RemoteRepositoryOrigin(RegisteredCodeLocationOrigin(location), repository), name)
        data = SensorInstigatorData(min_interval=30) if kind == InstigatorType.SENSOR else ScheduleInstigatorData("30 2 * * *")
        self.instance = instance
        self.state = InstigatorState(origin, kind, InstigatorStatus.DECLARED_IN_CODE, data)
        instance.add_instigator_state(self.state)

    def ticks(self, *statuses: TickStatus) -> None:
        for status in statuses:
            error = (
                SerializableErrorInfo(f"{PROBE_ERROR}\nmore", [], "DatabaseUnavailable") if status == TickStatus.FAILURE else None
            )
            self.instance.create_tick(
                TickData(
                    instigator_origin_id=self.state.instigator_origin_id,
                    instigator_name=self.state.instigator_name,
                    instigator_type=self.state.instigator_type,
                    status=status,
                    timestamp=time.time(),
                    selector_id=self.state.selector_id,
                    error=error,
                    run_ids=[],
                )
            )

    def stop(self) -> None:
        self.instance.update_instigator_state(self.state.with_status(InstigatorStatus.STOPPED))


FAILED, SKIPPED, SUCCESS = TickStatus.FAILURE, TickStatus.SKIPPED, TickStatus.SUCCESS
