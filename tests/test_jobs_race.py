"""Two schedulers racing for the same run, on a real database with real commits.

The usual test database is wrapped in a rolled-back transaction, which would hide the
race; these tests build a throwaway database of their own (an SQLite file, or a fresh
PostgreSQL database when ``KAMCRM_TEST_DATABASE_URL`` is set), migrated like production,
and race two threads, each with its own app context, session and connection.
"""

from __future__ import annotations

import threading
from datetime import date, datetime

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from kamcrm import create_app
from kamcrm.extensions import db
from kamcrm.jobs.claims import claim_run
from kamcrm.jobs.models import JobRun
from kamcrm.jobs.runner import run_due, run_job
from kamcrm.periods import BANGKOK
from kamcrm.reports.models import MonthlySummary
from kamcrm.throwaway import database_for_tests
from tests import factories
from tests.conftest import MIGRATIONS

NOW = datetime(2021, 2, 6, 0, 30, tzinfo=BANGKOK)
RACERS = 2


@pytest.fixture
def separate_app(tmp_path):
    """An app on a database of its own, committed for real, dropped afterwards."""
    url, drop = database_for_tests(tmp_path / "race.sqlite", "kamcrm_race_")
    application = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "race",
            "SQLALCHEMY_DATABASE_URI": url,
            "OUTBOX_DIR": str(tmp_path / "outbox"),
        }
    )
    with application.app_context():
        upgrade(directory=MIGRATIONS, revision="heads")
        db.session.remove()
    try:
        yield application
    finally:
        with application.app_context():
            db.session.remove()
            for engine in db.engines.values():
                engine.dispose()
        drop()


def race(application, work) -> list:
    """Run ``work()`` in RACERS threads released together; return what each returned."""
    gate = threading.Barrier(RACERS)
    results, errors = [None] * RACERS, []

    def racer(index):
        with application.app_context():
            try:
                gate.wait()
                results[index] = work()
            except BaseException as error:  # noqa: BLE001 — reported to the test below
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=racer, args=(i,)) for i in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    return results


@pytest.mark.parametrize("attempt", range(3))
def test_two_claims_for_the_same_run_on_separate_connections_give_one_winner(separate_app, attempt):
    claims = race(
        separate_app, lambda: claim_run("monthly_summary", "2021-01", NOW, bind=db.engine)
    )
    assert sorted(claim.won for claim in claims) == [False, True]
    with separate_app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(JobRun)) == 1


def test_two_schedulers_racing_for_the_monthly_summary_keep_exactly_one(separate_app):
    with separate_app.app_context():
        make = factories.Factories()
        office = make.office(code="CBI")
        make.activity(make.account(office=office), type="FMS", activity_date=date(2021, 1, 12))
        db.session.commit()

    results = race(separate_app, lambda: run_job("monthly_summary", NOW, "2021-01"))

    assert sorted(result.outcome for result in results) == ["done", "skipped"]
    with separate_app.app_context():
        kept = db.session.execute(
            sa.select(MonthlySummary.scope_code, sa.func.count())
            .where(MonthlySummary.kind == "reported")
            .group_by(MonthlySummary.scope_code)
        ).all()
        assert dict(kept) == {"R2": 1, "CBI": 1}
        assert db.session.execute(sa.select(JobRun.state)).scalars().all() == ["done"]


def test_catch_up_with_real_commits_runs_each_missed_period_once(separate_app):
    """The scheduler's start: periods read first, then claimed and run one by one."""
    back_up = datetime(2021, 5, 20, 9, 0, tzinfo=BANGKOK)
    with separate_app.app_context():
        results = run_due(back_up, names=("monthly_summary",))
        again = run_due(back_up, names=("monthly_summary",))
        assert [r.outcome for r in results] == ["done"] * 12
        assert again == []
        assert db.session.scalar(sa.select(sa.func.count()).select_from(MonthlySummary)) == 12
