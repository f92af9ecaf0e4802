"""The one list of scheduled jobs: what runs, for which period, and when it falls due.

Every run is for one *period* (a month, a quarter, an ISO week or a day) named by a key
that sorts in time order (``2026-10``, ``2026-Q3``, ``2026-W47``, ``2026-10-06``). A period
falls due at a fixed Bangkok moment; the scheduler fires then, and on start it catches up
periods whose moment passed while it was down (see ``kamcrm.jobs.runner``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

from kamcrm.jobs import tasks
from kamcrm.periods import (
    BANGKOK,
    QUARTER_CLOSE_DAYS,
    RECORDING_GRACE_DAYS,
    bangkok_today,
    parse_month,
    parse_quarter,
    quarter_close_date,
    quarter_of,
    quarter_window,
    recording_deadline,
)
from kamcrm.reports.complaint_return import OFFICE_DUE_DAYS, REGION_DUE_DAYS

if TYPE_CHECKING:  # APScheduler is imported when the scheduler asks for a trigger
    from apscheduler.triggers.cron import CronTrigger


def _at(day: date, moment: time) -> datetime:
    return datetime.combine(day, moment, tzinfo=BANGKOK)


class Cadence:
    """How a job's periods are named, stepped through, and when each falls due."""

    #: How ``jobs list`` describes the schedule.
    description: str

    def key(self, start: date) -> str:
        raise NotImplementedError

    def parse(self, key: str) -> date:
        """Return the first day of the period named ``key``; ValueError if malformed."""
        raise NotImplementedError

    def containing(self, day: date) -> date:
        """Return the first day of the period containing ``day``."""
        raise NotImplementedError

    def shift(self, start: date, steps: int) -> date:
        """Return the first day of the period ``steps`` periods after (or before) ``start``."""
        raise NotImplementedError

    def due_at(self, start: date) -> datetime:
        """Return the moment the period starting on ``start`` falls due."""
        raise NotImplementedError

    def trigger(self) -> CronTrigger:
        """Return the APScheduler trigger that fires at every ``due_at``."""
        raise NotImplementedError

    def latest_due(self, now: datetime) -> date:
        """Return the start of the latest period that has fallen due by ``now``."""
        start = self.containing(bangkok_today(now))
        while self.due_at(start) > now:
            start = self.shift(start, -1)
        return start

    def next_due_at(self, now: datetime) -> datetime:
        """Return the first due moment after ``now``."""
        return self.due_at(self.shift(self.latest_due(now), 1))


class MonthAfterDeadline(Cadence):
    """A month, due at 00:30 on the day after its 5-day recording deadline (the 6th)."""

    MOMENT = time(0, 30)
    description = (
        f"day {RECORDING_GRACE_DAYS + 1} of each month, 00:30 Asia/Bangkok, for the month before"
    )

    def key(self, start):
        return f"{start.year:04d}-{start.month:02d}"

    def parse(self, key):
        year, month = parse_month(key)
        return date(year, month, 1)

    def containing(self, day):
        return day.replace(day=1)

    def shift(self, start, steps):
        index = start.year * 12 + start.month - 1 + steps
        return date(index // 12, index % 12 + 1, 1)

    def due_at(self, start):
        last_day = self.shift(start, 1) - timedelta(days=1)
        return _at(recording_deadline(last_day) + timedelta(days=1), self.MOMENT)

    def trigger(self):
        from apscheduler.triggers.cron import CronTrigger

        return CronTrigger(day=RECORDING_GRACE_DAYS + 1, hour=0, minute=30, timezone=BANGKOK)


class MonthAfterDays(Cadence):
    """A month, due at ``MOMENT`` on the ``days``-th day after its last day (Bangkok): the
    complaint returns, due the 10th day after the month for offices and the 20th for the
    region. The job runs late on the due day, so what is recorded on it still counts as
    on time, and keeps the return as it was reported."""

    MOMENT = time(23, 30)

    def __init__(self, days: int):
        # The Nth day after a month's last day is day N of the next month (N <= 28).
        if not 1 <= days <= 28:
            raise ValueError("days must lie between 1 and 28")
        self.days = days
        self.description = f"day {days} of each month, 23:30 Asia/Bangkok, for the month before"

    def key(self, start):
        return f"{start.year:04d}-{start.month:02d}"

    def parse(self, key):
        year, month = parse_month(key)
        return date(year, month, 1)

    def containing(self, day):
        return day.replace(day=1)

    def shift(self, start, steps):
        index = start.year * 12 + start.month - 1 + steps
        return date(index // 12, index % 12 + 1, 1)

    def due_at(self, start):
        last_day = self.shift(start, 1) - timedelta(days=1)
        return _at(last_day + timedelta(days=self.days), self.MOMENT)

    def trigger(self):
        from apscheduler.triggers.cron import CronTrigger

        return CronTrigger(
            day=self.days, hour=self.MOMENT.hour, minute=self.MOMENT.minute, timezone=BANGKOK
        )


class QuarterAfterClose(Cadence):
    """A quarter, due at 00:45 on its close date (the 16th day after it ends)."""

    MOMENT = time(0, 45)
    description = f"day {QUARTER_CLOSE_DAYS + 1} of Jan/Apr/Jul/Oct, 00:45 Asia/Bangkok, for the quarter before"

    def key(self, start):
        return f"{start.year:04d}-Q{quarter_of(start)}"

    def parse(self, key):
        year, quarter = parse_quarter(key)
        return quarter_window(year, quarter).start

    def containing(self, day):
        return quarter_window(day.year, quarter_of(day)).start

    def shift(self, start, steps):
        index = start.year * 4 + quarter_of(start) - 1 + steps
        return quarter_window(index // 4, index % 4 + 1).start

    def due_at(self, start):
        return _at(quarter_close_date(start.year, quarter_of(start)), self.MOMENT)

    def trigger(self):
        # Quarters end on a month's last day, so the close date is always this day of the
        # month after; a test checks the trigger against ``due_at``.
        from apscheduler.triggers.cron import CronTrigger

        return CronTrigger(
            month="1,4,7,10", day=QUARTER_CLOSE_DAYS + 1, hour=0, minute=45, timezone=BANGKOK
        )


class IsoWeek(Cadence):
    """An ISO week (Monday to Sunday), due on its Monday at 07:00."""

    MOMENT = time(7, 0)
    description = "Mondays 07:00 Asia/Bangkok, for the week starting"

    def key(self, start):
        year, week, _ = start.isocalendar()
        return f"{year:04d}-W{week:02d}"

    def parse(self, key):
        try:
            year_text, week_text = key.strip().upper().split("-W")
            return date.fromisocalendar(int(year_text), int(week_text), 1)
        except ValueError:
            raise ValueError(
                f"{key!r} is not a week; write it as YYYY-Www, e.g. 2026-W47"
            ) from None

    def containing(self, day):
        return day - timedelta(days=day.weekday())

    def shift(self, start, steps):
        return start + timedelta(weeks=steps)

    def due_at(self, start):
        return _at(start, self.MOMENT)

    def trigger(self):
        from apscheduler.triggers.cron import CronTrigger

        return CronTrigger(day_of_week="mon", hour=7, minute=0, timezone=BANGKOK)


class Day(Cadence):
    """A day, due at 07:30 on it."""

    MOMENT = time(7, 30)
    description = "every day 07:30 Asia/Bangkok"

    def key(self, start):
        return start.isoformat()

    def parse(self, key):
        try:
            return date.fromisoformat(key.strip())
        except ValueError:
            raise ValueError(f"{key!r} is not a day; write it as YYYY-MM-DD") from None

    def containing(self, day):
        return day

    def shift(self, start, steps):
        return start + timedelta(days=steps)

    def due_at(self, start):
        return _at(start, self.MOMENT)

    def trigger(self):
        from apscheduler.triggers.cron import CronTrigger

        return CronTrigger(hour=7, minute=30, timezone=BANGKOK)


@dataclass(frozen=True)
class Job:
    """A periodic job: ``function(period_key, now)`` does the work and returns a message."""

    name: str
    description: str
    cadence: Cadence
    function: Callable[[str, datetime], str]
    #: How many recent periods a catch-up looks back over (a digest is only worth sending
    #: for the latest week; a missed monthly summary is still worth keeping a year later).
    catch_up: int


#: Every periodic job of kamcrm, in the order ``jobs list`` shows them.
JOBS: tuple[Job, ...] = (
    Job(
        name="monthly_summary",
        description="keep the 'as reported' monthly summary of the region and every class 1-3 office",
        cadence=MonthAfterDeadline(),
        function=tasks.monthly_summaries,
        catch_up=12,
    ),
    Job(
        name="complaint_return_offices",
        description="keep the 'as reported' complaint return of every class 1-3 office on its due day",
        cadence=MonthAfterDays(OFFICE_DUE_DAYS),
        function=tasks.office_complaint_returns,
        catch_up=12,
    ),
    Job(
        name="complaint_return_region",
        description="keep the 'as reported' complaint return of the region on its due day",
        cadence=MonthAfterDays(REGION_DUE_DAYS),
        function=tasks.region_complaint_return,
        catch_up=12,
    ),
    Job(
        name="quarter_close",
        description="close the quarter and keep its CR2 snapshot",
        cadence=QuarterAfterClose(),
        function=tasks.quarter_close,
        catch_up=4,
    ),
    Job(
        name="weekly_digest",
        description="send each KAMR and office manager what is due, overdue and late",
        cadence=IsoWeek(),
        function=tasks.weekly_digests,
        catch_up=1,
    ),
    Job(
        name="follow_up_reminders",
        description="remind assignees of open follow-ups that are due soon or overdue",
        cadence=Day(),
        function=tasks.follow_up_reminders,
        catch_up=1,
    ),
    Job(
        name="session_cleanup",
        description="delete the page sessions that ran out, so the table holds the live ones",
        cadence=Day(),
        function=tasks.session_cleanup,
        catch_up=1,
    ),
    Job(
        name="complaint_breaches",
        description="tell office managers of open complaints past their time limit, once per complaint and limit",
        cadence=Day(),
        function=tasks.complaint_breaches,
        catch_up=1,
    ),
)


class UnknownJob(LookupError):
    """No job has the given name."""


def job_named(name: str) -> Job:
    """Return the job called ``name``; raise ``UnknownJob`` listing the known names."""
    for job in JOBS:
        if job.name == name:
            return job
    known = ", ".join(job.name for job in JOBS)
    raise UnknownJob(f"no job is called {name!r}; the jobs are: {known}")
