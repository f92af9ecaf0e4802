"""Scheduled jobs: when periods fall due, claims, reruns, failures and catch-up after downtime.

Every test passes "now" explicitly; nothing reads the clock.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa

from kamcrm.extensions import db
from kamcrm.jobs.claims import STALE_AFTER, claim_run, fail_run, finish_run
from kamcrm.jobs.models import JobRun
from kamcrm.jobs.runner import PeriodNotDue, due_periods, job_statuses, run_due, run_job
from kamcrm.jobs.schedule import JOBS, job_named
from kamcrm.periods import BANGKOK
from kamcrm.reports.models import MonthlySummary


def bangkok(*parts) -> datetime:
    return datetime(*parts, tzinfo=BANGKOK)


def runs(job: str) -> dict[str, str]:
    rows = db.session.execute(
        sa.select(JobRun.period_key, JobRun.state).where(JobRun.job == job)
    ).all()
    return dict(rows)


def reported(month: date, scope_code: str) -> list[MonthlySummary]:
    return (
        db.session.execute(
            sa.select(MonthlySummary).where(
                MonthlySummary.month == month,
                MonthlySummary.scope_code == scope_code,
                MonthlySummary.kind == "reported",
            )
        )
        .scalars()
        .all()
    )


# --- when periods fall due ---------------------------------------------------------------


@pytest.mark.parametrize(
    "name, now, latest",
    [
        ("monthly_summary", bangkok(2021, 2, 6, 0, 29), "2020-12"),
        ("monthly_summary", bangkok(2021, 2, 6, 0, 30), "2021-01"),
        ("monthly_summary", bangkok(2021, 1, 6, 0, 30), "2020-12"),
        ("quarter_close", bangkok(2021, 4, 16, 0, 44), "2020-Q4"),
        ("quarter_close", bangkok(2021, 4, 16, 0, 45), "2021-Q1"),
        ("quarter_close", bangkok(2022, 1, 16, 0, 45), "2021-Q4"),
        ("weekly_digest", bangkok(2021, 1, 4, 6, 59), "2020-W53"),
        ("weekly_digest", bangkok(2021, 1, 4, 7, 0), "2021-W01"),
        ("follow_up_reminders", bangkok(2021, 3, 1, 7, 29), "2021-02-28"),
        ("follow_up_reminders", bangkok(2021, 3, 1, 7, 30), "2021-03-01"),
    ],
)
def test_the_latest_due_period_follows_the_bangkok_clock(name, now, latest):
    cadence = job_named(name).cadence
    assert cadence.key(cadence.latest_due(now)) == latest


def test_monthly_summary_falls_due_the_day_after_the_recording_deadline():
    cadence = job_named("monthly_summary").cadence
    assert cadence.due_at(cadence.parse("2021-12")) == bangkok(2022, 1, 6, 0, 30)


def test_quarter_close_falls_due_on_the_sixteenth_day_after_the_quarter():
    cadence = job_named("quarter_close").cadence
    assert cadence.due_at(cadence.parse("2021-Q2")).date() == date(2021, 6, 30) + timedelta(days=16)


@pytest.mark.parametrize("job", JOBS, ids=lambda job: job.name)
def test_the_scheduler_trigger_fires_exactly_when_each_period_falls_due(job):
    cadence = job.cadence
    trigger = cadence.trigger()
    start = cadence.containing(date(2020, 11, 20))
    fired, previous, moment = [], None, bangkok(2020, 11, 20, 12, 0)
    for _ in range(8):
        previous = trigger.get_next_fire_time(previous, moment)
        fired.append(previous)
        moment = previous + timedelta(seconds=1)
    due = sorted(cadence.due_at(cadence.shift(start, step)) for step in range(-2, 12))
    expected = [moment for moment in due if moment > bangkok(2020, 11, 20, 12, 0)][:8]
    assert fired == expected


@pytest.mark.parametrize(
    "name, key",
    [
        ("monthly_summary", "2021-00"),
        ("quarter_close", "2021-Q5"),
        ("weekly_digest", "2021-W60"),
        ("follow_up_reminders", "2021-02-30"),
    ],
)
def test_a_malformed_period_is_refused_with_its_format(app_ctx, name, key):
    with pytest.raises(ValueError):
        run_job(name, bangkok(2030, 1, 1), key)


def test_a_period_not_yet_due_is_refused(app_ctx):
    with pytest.raises(PeriodNotDue, match="not due until 2021-02-06"):
        run_job("monthly_summary", bangkok(2021, 2, 5, 23, 0), "2021-01")
    assert runs("monthly_summary") == {}


# --- claims ------------------------------------------------------------------------------

NOW = bangkok(2021, 2, 6, 0, 30)


def test_the_first_claim_wins_and_a_second_is_refused_while_it_runs(app_ctx):
    first = claim_run("monthly_summary", "2021-01", NOW)
    second = claim_run("monthly_summary", "2021-01", NOW + timedelta(minutes=1))
    assert first.won and not second.won
    assert "already running" in second.note


@pytest.mark.parametrize("force", [False, True])
def test_a_done_period_is_claimed_again_only_with_force(app_ctx, force):
    first = claim_run("monthly_summary", "2021-01", NOW)
    finish_run(first.run_id, NOW, "kept")
    db.session.commit()
    again = claim_run("monthly_summary", "2021-01", NOW + timedelta(days=1), force=force)
    assert again.won is force
    if not force:
        assert "--force" in again.note


def test_a_failed_period_is_claimed_again_without_force(app_ctx):
    first = claim_run("monthly_summary", "2021-01", NOW)
    fail_run(first.run_id, NOW, "boom")
    assert (
        claim_run("monthly_summary", "2021-01", NOW + timedelta(minutes=5)).run_id == first.run_id
    )


@pytest.mark.parametrize("force", [False, True])
def test_a_fresh_running_claim_is_never_taken_over(app_ctx, force):
    claim_run("monthly_summary", "2021-01", NOW)
    again = claim_run("monthly_summary", "2021-01", NOW + STALE_AFTER, force=force)
    assert not again.won


def test_a_stale_running_claim_of_a_dead_process_is_taken_over(app_ctx):
    first = claim_run("monthly_summary", "2021-01", NOW, claimed_by="old-host:1")
    again = claim_run("monthly_summary", "2021-01", NOW + STALE_AFTER + timedelta(seconds=1))
    assert again.run_id == first.run_id
    assert "old-host:1" in again.note


def test_claims_are_per_job_and_period(app_ctx):
    assert claim_run("monthly_summary", "2021-01", NOW).won
    assert claim_run("monthly_summary", "2021-02", NOW).won
    assert claim_run("quarter_close", "2021-01", NOW).won


# --- running jobs ------------------------------------------------------------------------


@pytest.fixture
def offices(make):
    """A region with two offices, committed before any job runs (as in production)."""
    found = make.region(), make.office(code="CBI"), make.office(code="RYG")
    db.session.commit()
    return found


def test_the_monthly_job_keeps_one_reported_summary_per_scope(offices):
    result = run_job("monthly_summary", NOW)
    assert (result.period_key, result.outcome) == ("2021-01", "done")
    for code in ("R2", "CBI", "RYG"):
        assert len(reported(date(2021, 1, 1), code)) == 1
    assert runs("monthly_summary") == {"2021-01": "done"}


def test_a_manual_rerun_of_a_done_period_says_so_and_does_nothing(offices):
    run_job("monthly_summary", NOW)
    again = run_job("monthly_summary", NOW + timedelta(days=2), "2021-01")
    assert again.outcome == "skipped" and "already done" in again.message
    assert len(reported(date(2021, 1, 1), "R2")) == 1


def test_a_forced_rerun_keeps_what_was_reported_and_fills_in_what_is_missing(offices, make):
    run_job("monthly_summary", NOW)
    first = reported(date(2021, 1, 1), "R2")[0]
    make.office(code="TRT")
    forced = run_job("monthly_summary", NOW + timedelta(days=3), "2021-01", force=True)
    assert forced.outcome == "done"
    assert reported(date(2021, 1, 1), "R2") == [first]
    assert first.generated_at == NOW
    assert len(reported(date(2021, 1, 1), "TRT")) == 1


def test_a_failing_job_rolls_its_work_back_and_is_retried(offices, monkeypatch):
    from kamcrm.reports import monthly

    keep = monthly.keep_reported_summaries

    def keep_then_fail(year, month, now):
        keep(year, month, now)
        raise RuntimeError("disk full")

    monkeypatch.setattr(monthly, "keep_reported_summaries", keep_then_fail)
    failed = run_job("monthly_summary", NOW)
    assert failed.outcome == "failed" and "disk full" in failed.message
    assert runs("monthly_summary") == {"2021-01": "failed"}
    assert reported(date(2021, 1, 1), "R2") == []

    monkeypatch.undo()
    retried = run_job("monthly_summary", NOW + timedelta(hours=1))
    assert retried.outcome == "done"
    assert runs("monthly_summary") == {"2021-01": "done"}


def test_the_quarter_close_job_closes_the_quarter_with_its_cr2_snapshot(offices):
    from kamcrm.reports.closing import quarter_close_row

    result = run_job("quarter_close", bangkok(2021, 4, 16, 0, 45))
    closed = quarter_close_row(2021, 1)
    assert (result.period_key, result.outcome) == ("2021-Q1", "done")
    assert closed.closed_at == bangkok(2021, 4, 16, 0, 45) and closed.reopened_at is None
    assert sorted(closed.snapshot) == ["CBI", "R2", "RYG"]


def test_the_quarter_close_job_leaves_a_quarter_an_admin_reopened(offices, make):
    from kamcrm.reports.closing import close_quarter, quarter_close_row, reopen_quarter

    admin = make.user(role="admin", office=offices[0])
    close_quarter(2021, 1, admin, bangkok(2021, 4, 16, 0, 1))
    reopen_quarter(2021, 1, admin, bangkok(2021, 4, 16, 9, 0), reason="แก้ไขข้อมูลสาขา")
    db.session.commit()
    result = run_job("quarter_close", bangkok(2021, 4, 16, 10, 0))
    assert result.outcome == "done" and "reopened" in result.message
    assert quarter_close_row(2021, 1).reopened_at is not None


# --- catch-up after downtime ---------------------------------------------------------------


def test_catch_up_runs_every_month_missed_since_the_last_done_run(offices):
    run_job("monthly_summary", bangkok(2021, 1, 6, 1, 0))  # 2020-12, then the scheduler went down
    back_up = bangkok(2021, 5, 20, 9, 0)
    assert due_periods(job_named("monthly_summary"), back_up) == [
        "2021-01",
        "2021-02",
        "2021-03",
        "2021-04",
    ]
    results = run_due(back_up, names=("monthly_summary",))
    assert [(r.period_key, r.outcome) for r in results] == [
        ("2021-01", "done"),
        ("2021-02", "done"),
        ("2021-03", "done"),
        ("2021-04", "done"),
    ]
    assert due_periods(job_named("monthly_summary"), back_up) == []


def test_catch_up_is_bounded_to_the_jobs_look_back(app_ctx):
    back_up = bangkok(2021, 5, 20, 9, 0)
    assert due_periods(job_named("monthly_summary"), back_up)[0] == "2020-05"
    assert len(due_periods(job_named("monthly_summary"), back_up)) == 12
    assert due_periods(job_named("quarter_close"), back_up) == [
        "2020-Q2",
        "2020-Q3",
        "2020-Q4",
        "2021-Q1",
    ]
    assert due_periods(job_named("weekly_digest"), back_up) == ["2021-W20"]


def test_catch_up_leaves_a_period_someone_is_running(app_ctx):
    back_up = bangkok(2021, 5, 20, 9, 0)
    claim_run("monthly_summary", "2021-04", back_up - timedelta(minutes=1))
    assert "2021-04" not in due_periods(job_named("monthly_summary"), back_up)


def test_jobs_list_shows_the_last_run_and_the_next(offices):
    run_job("monthly_summary", NOW)
    statuses = {status.job.name: status for status in job_statuses(NOW + timedelta(hours=1))}
    assert statuses["monthly_summary"].last_period == "2021-01"
    assert statuses["monthly_summary"].last_state == "done"
    assert statuses["monthly_summary"].next_run_at == bangkok(2021, 3, 6, 0, 30)
    assert statuses["quarter_close"].last_period is None


# --- the command line ----------------------------------------------------------------------


def test_jobs_run_twice_reports_the_second_as_done_already(runner, offices):
    first = runner.invoke(args=["jobs", "run", "monthly_summary", "--period", "2021-01"])
    second = runner.invoke(args=["jobs", "run", "monthly_summary", "--period", "2021-01"])
    assert first.exit_code == 0 and "done" in first.output
    assert second.exit_code == 0 and "already done" in second.output


@pytest.mark.parametrize(
    "args, message",
    [
        (["jobs", "run", "no_such_job"], "no job is called"),
        (["jobs", "run", "monthly_summary", "--period", "January"], "YYYY-MM"),
        (["jobs", "run", "monthly_summary", "--period", "2199-01"], "not due until"),
    ],
)
def test_jobs_run_explains_a_bad_request(runner, app_ctx, args, message):
    result = runner.invoke(args=args)
    assert result.exit_code != 0 and message in result.output


def test_jobs_list_names_every_job(runner, app_ctx):
    output = runner.invoke(args=["jobs", "list"]).output
    for job in JOBS:
        assert job.name in output and job.cadence.description in output


def test_the_scheduler_has_one_entry_per_job_and_is_not_started_by_building_it(app):
    from apscheduler.schedulers.background import BackgroundScheduler

    from kamcrm.jobs.scheduler import IMPORTS_JOB_ID, build_scheduler

    scheduler = build_scheduler(app, BackgroundScheduler)
    # Every periodic job, and the poll that runs queued imports.
    assert [entry.id for entry in scheduler.get_jobs()] == [job.name for job in JOBS] + [
        IMPORTS_JOB_ID
    ]
    assert not scheduler.running
