"""Parse and check the `schedule` and duration values of the manifest (pure)."""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, replace
from typing import Any, Literal

PRESETS = (
    "@once",
    "@continuous",
    "@hourly",
    "@daily",
    "@weekly",
    "@monthly",
    "@quarterly",
    "@yearly",
    "@annually",
)
MAX_DAYS = 365  # the longest duration: any start date plus it stays a valid date
MAX_DURATION = MAX_DAYS * 24 * 3600  # seconds
_DURATION = re.compile(r"(?=[0-9])(?:([0-9]+)d)?(?:([0-9]+)h)?(?:([0-9]+)m)?(?:([0-9]+)s)?")
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
_FIELDS: tuple[
    tuple[str, int, int, tuple[str, ...]], ...
] = (  # name, low, high, symbolic names (numbered from `low`)
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day of month", 1, 31, ()),
    ("month", 1, 12, _MONTHS),
    ("day of week", 0, 7, _DAYS),
)
_SYNTAX = (
    "a field is `*`, a number or a name (`MON`, `JAN`), a range `1-5` or a list `1,15`, "
    "with an optional step: `*/10`"
)
_FIRES = 3  # fire times a cron schedule must have after its start date
_START = datetime.datetime(2024, 1, 1)  # when the DAG's own start date is not a date


class ScheduleError(ValueError):
    """A schedule or duration that cannot be used; the message says why, the hint what to do."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.hint = hint


@dataclass(frozen=True)
class Schedule:
    """What goes into the DAG's `schedule=`."""

    kind: Literal["none", "cron", "preset", "duration"]
    value: str = ""
    after: tuple[str, ...] = ()  # DAG ids or pipelines whose final outputs it waits for
    datasets: tuple[str, ...] = ()  # catalog datasets whose Assets it waits for

    @property
    def seconds(self) -> int:
        return duration_seconds(self.value) if self.kind == "duration" else 0


def duration_seconds(text: str) -> int:
    """Seconds in a duration such as `1h30m`; longer than MAX_DAYS days is an error, so that
    `datetime.timedelta` and any date plus the duration never overflow."""
    match = _DURATION.fullmatch(text)
    if not match:
        raise ScheduleError(f"invalid duration {text!r}; use e.g. `30s`, `5m`, `1h30m`, `2d`")
    days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
    total = ((days * 24 + hours) * 60 + minutes) * 60 + seconds
    if total > MAX_DURATION:
        raise ScheduleError(
            f"duration `{text}` is longer than {MAX_DAYS} days",
            hint=f"durations are at most {MAX_DAYS} days (`{MAX_DAYS}d`); for a schedule, use "
            "a cron expression or a preset such as `@yearly`",
        )
    return total


def _cron_value(token: str, low: int, names: tuple[str, ...]) -> int:
    if token.upper() in names:
        return names.index(token.upper()) + low
    if not token:
        raise ScheduleError("a number is missing", hint=_SYNTAX)
    if not token.isascii() or not token.isdigit():
        raise ScheduleError(f"`{token}` is not a number", hint=_SYNTAX)
    return int(token)


def _check_cron_field(text: str, name: str, low: int, high: int, names: tuple[str, ...]) -> None:
    for item in text.split(","):
        base, slash, step = item.partition("/")
        if slash and not (step.isascii() and step.isdigit() and int(step) > 0):
            raise ScheduleError(
                f"{name}: the step of `{item}` must be a positive number", hint=_SYNTAX
            )
        if base == "*":
            continue
        first, dash, last = base.partition("-")
        tokens = [first, last] if dash else [first]
        try:
            bounds = [_cron_value(token, low, names) for token in tokens]
        except ScheduleError as exc:
            raise ScheduleError(f"{name}: `{item}`: {exc}", hint=exc.hint) from None
        for value in bounds:
            if not low <= value <= high:
                raise ScheduleError(f"{name}: {value} is outside {low}-{high}")
        if len(bounds) == 2 and bounds[0] > bounds[1]:
            raise ScheduleError(f"{name}: range `{base}` runs backwards")


def _check_with_croniter(text: str, start: datetime.datetime) -> None:
    """What Airflow's cron timetables do with the expression: parse it with croniter, then ask
    for the next fire times (croniter gives up after a bounded search)."""
    from croniter import (  # type: ignore[import-untyped]
        CroniterBadDateError,
        CroniterError,
        croniter,
    )

    try:
        fires = croniter(text, start)
    except (CroniterError, ValueError, KeyError, IndexError) as exc:
        raise ScheduleError(f"invalid cron `{text}`: {exc}", hint=_SYNTAX) from None
    try:
        for _ in range(_FIRES):
            fires.get_next(datetime.datetime)
    except (CroniterBadDateError, OverflowError):
        raise ScheduleError(
            f"cron `{text}` never fires after {start:%Y-%m-%d}: Airflow could not schedule it",
            hint="check the day of month against the month: February has no day 30 or 31; "
            "April, June, September and November have no day 31",
        ) from None


def parse_schedule(
    value: str | dict[str, Any] | None, start: datetime.datetime | None = None
) -> Schedule:
    """Classify a manifest schedule; raise ScheduleError with the reason when it is invalid.
    A cron schedule must fire after `start` (the DAG's start date, naive). A mapping schedules
    on data (`after`, `datasets`), or on data or time (`cron` with either)."""
    if isinstance(value, dict):
        timed = parse_schedule(value.get("cron"), start)
        if timed.value in ("@once", "@continuous"):
            raise ScheduleError(
                f"`{timed.value}` cannot be combined with `after` or `datasets`",
                hint="use a cron expression, a preset such as `@daily` or a duration",
            )
        return replace(
            timed,
            after=tuple(dict.fromkeys(value.get("after", ()))),
            datasets=tuple(dict.fromkeys(value.get("datasets", ()))),
        )
    if value is None:
        return Schedule("none")
    text = value.strip()
    if text.startswith("@"):
        if text not in PRESETS:
            raise ScheduleError(f"unknown preset `{text}`")
        return Schedule("preset", text)
    if _DURATION.fullmatch(text):
        if duration_seconds(text) == 0:
            raise ScheduleError("a duration schedule must be longer than zero")
        return Schedule("duration", text)
    fields = text.split()
    if len(fields) != 5:
        raise ScheduleError(
            f"a cron expression has 5 fields (minute hour day month weekday), got {len(fields)}",
            hint="Airflow would read a sixth field as seconds; write 5 fields, a preset such as "
            "`@daily`, or a duration such as `30s`"
            if len(fields) > 5
            else "",
        )
    try:
        for field, (name, low, high, names) in zip(fields, _FIELDS, strict=True):
            _check_cron_field(field, name, low, high, names)
    except ScheduleError as exc:
        raise ScheduleError(f"invalid cron `{text}`: {exc}", hint=exc.hint) from None
    cron = " ".join(fields)
    _check_with_croniter(cron, start or _START)
    return Schedule("cron", cron)
