"""Standard 5-field cron expressions read into APScheduler triggers, in one place, so the config
check at load time (``doctor`` catches a bad ``schedule.report_cron``) and ``serve`` agree."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger  # type: ignore[import-untyped]

_CRON_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")


def cron_day_of_week(field: str) -> str:
    """Standard cron weekdays (0 or 7 = Sunday, 1 = Monday) as names, which APScheduler 3 reads
    right; its own numbers start at Monday = 0, so a literal "1" would fire on Tuesdays."""
    names: list[str] = []
    for token in field.split(","):
        body, _, step_text = token.partition("/")
        if not any(ch.isdigit() for ch in body) and not step_text:
            names.append(token)  # "*", "mon", "mon-fri"
            continue
        if body == "*":
            low, high = 0, 6
        elif "-" in body:
            low, high = (int(part) for part in body.split("-", 1))
        else:
            low = high = int(body)
        step = int(step_text) if step_text else 1
        if not (0 <= low <= 7 and 0 <= high <= 7 and step >= 1):
            raise ValueError(f"day of week {token!r} out of range 0-7")
        names += [_CRON_DAYS[day] for day in range(low, high + 1, step)]
    return ",".join(dict.fromkeys(names))


def cron_trigger(expression: str, tz: ZoneInfo) -> CronTrigger:
    """Raise ValueError (or IndexError for too few fields) when APScheduler cannot read it."""
    fields = expression.split()
    return CronTrigger(
        minute=fields[0],
        hour=fields[1],
        day=fields[2],
        month=fields[3],
        day_of_week=cron_day_of_week(fields[4]),
        timezone=tz,
    )
