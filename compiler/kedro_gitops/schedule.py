"""Parse and check the `schedule` and duration values of the manifest (pure)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

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
_DURATION = re.compile(r"^(?=\d)(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
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


class ScheduleError(ValueError):
    """A schedule or duration that cannot be used; the message says why."""


@dataclass(frozen=True)
class Schedule:
    """What goes into the DAG's `schedule=`."""

    kind: Literal["none", "cron", "preset", "duration"]
    value: str = ""

    @property
    def seconds(self) -> int:
        return duration_seconds(self.value) if self.kind == "duration" else 0


def duration_seconds(text: str) -> int:
    match = _DURATION.match(text)
    if not match:
        raise ScheduleError(f"invalid duration {text!r}; use e.g. `30s`, `5m`, `1h30m`, `2d`")
    days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return ((days * 24 + hours) * 60 + minutes) * 60 + seconds


def _cron_value(token: str, low: int, names: tuple[str, ...]) -> int:
    if token.upper() in names:
        return names.index(token.upper()) + low
    if not token.isdigit():
        raise ScheduleError(f"`{token}` is not a number")
    return int(token)


def _check_cron_field(text: str, name: str, low: int, high: int, names: tuple[str, ...]) -> None:
    for item in text.split(","):
        base, _, step = item.partition("/")
        if step and (not step.isdigit() or int(step) == 0):
            raise ScheduleError(f"{name}: step `{step}` must be a positive number")
        if base == "*":
            continue
        first, _, last = base.partition("-")
        bounds = [_cron_value(first, low, names)]
        if last:
            bounds.append(_cron_value(last, low, names))
        for value in bounds:
            if not low <= value <= high:
                raise ScheduleError(f"{name}: {value} is outside {low}-{high}")
        if len(bounds) == 2 and bounds[0] > bounds[1]:
            raise ScheduleError(f"{name}: range `{base}` runs backwards")


def parse_schedule(value: str | None) -> Schedule:
    """Classify a manifest schedule; raise ScheduleError with the reason when it is invalid."""
    if value is None:
        return Schedule("none")
    text = value.strip()
    if text.startswith("@"):
        if text not in PRESETS:
            raise ScheduleError(f"unknown preset `{text}`")
        return Schedule("preset", text)
    if _DURATION.match(text):
        if duration_seconds(text) == 0:
            raise ScheduleError("a duration schedule must be longer than zero")
        return Schedule("duration", text)
    fields = text.split()
    if len(fields) != 5:
        raise ScheduleError(
            f"a cron expression has 5 fields (minute hour day month weekday), got {len(fields)}"
        )
    try:
        for field, (name, low, high, names) in zip(fields, _FIELDS, strict=True):
            _check_cron_field(field, name, low, high, names)
    except ScheduleError as exc:
        raise ScheduleError(f"invalid cron `{text}`: {exc}") from None
    return Schedule("cron", " ".join(fields))
