"""Faults a client cannot cause but meets: the database restarting, unreachable or locked.

Such a request answers 503 with ``Retry-After`` (JSON on the API, a page elsewhere), stores
nothing, and the next request after the fault succeeds on its own. A database error that is a
bug (a missing table) stays a 500. The PostgreSQL restart under load is in
``bench/fault_bench.py``.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Blueprint
from flask_migrate import upgrade

from kamcrm import create_app
from kamcrm import db as kamcrm_db
from kamcrm.activities.models import Activity
from kamcrm.extensions import db
from kamcrm.org import access
from kamcrm.org.models import User
from kamcrm.org.tokens import TOKEN_PREFIX, issue_token
from kamcrm.periods import bangkok_today
from tests import factories

MIGRATIONS = str(Path(__file__).resolve().parent.parent / "migrations")


def _settings(url: str, tmp_path: Path) -> dict:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "SQLALCHEMY_DATABASE_URI": url,
        "WTF_CSRF_ENABLED": False,
        "OUTBOX_DIR": str(tmp_path / "outbox"),
        "RATELIMIT_ENABLED": False,
    }


@pytest.fixture
def file_app(tmp_path, monkeypatch):
    """An app on a SQLite file of its own, with one KAMR, their token and account A-1."""
    monkeypatch.setattr(kamcrm_db, "SQLITE_BUSY_TIMEOUT_MS", 200)  # a locked write gives up fast
    path = tmp_path / "locked.sqlite"
    application = create_app(_settings(f"sqlite:///{path}", tmp_path))
    with application.app_context():
        upgrade(directory=MIGRATIONS)
        make = factories.Factories()
        office = make.office(code="CBI")
        kamr = make.user(role="kamr", office=office, username="kamr1")
        make.account(office=office, account_no="A-1", tier="STAR", kamr_id=kamr.id)
        token = issue_token(kamr, "test", actor=None)[1]
        db.session.commit()
        kamr_id = kamr.id
    yield application, path, token, kamr_id
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


def _activity(day=None) -> dict:
    return {
        "account_no": "A-1",
        "type": "COM",
        "activity_date": (day or bangkok_today()).isoformat(),
    }


def _stored(application) -> int:
    with application.app_context():
        count = db.session.execute(sa.select(sa.func.count()).select_from(Activity)).scalar_one()
        db.session.remove()
        return count


def test_a_write_while_another_writer_holds_sqlite_answers_503_and_stores_nothing(file_app):
    application, path, token, _ = file_app
    client = application.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    other_writer = sqlite3.connect(path, isolation_level=None)
    other_writer.execute("BEGIN IMMEDIATE")
    try:
        answer = client.post("/api/v1/activities", json=_activity(), headers=headers)
    finally:
        other_writer.execute("ROLLBACK")
        other_writer.close()

    assert answer.status_code == 503
    assert answer.headers["Retry-After"].isdigit()
    assert answer.get_json()["code"] == 503
    assert "Retry-After" in answer.get_json()["message"]
    assert _stored(application) == 0

    again = client.post("/api/v1/activities", json=_activity(), headers=headers)
    assert again.status_code == 201
    assert _stored(application) == 1


def test_a_page_form_sent_while_sqlite_is_locked_gets_the_busy_page_in_both_languages(file_app):
    application, path, _, kamr_id = file_app
    client = application.test_client()
    with application.app_context():
        factories.sign_in(client, db.session.get(User, kamr_id))
        db.session.commit()
        db.session.remove()
    other_writer = sqlite3.connect(path, isolation_level=None)
    other_writer.execute("BEGIN IMMEDIATE")
    try:
        answer = client.post(
            "/activities/new",
            data={
                "account": "A-1",
                "type": "COM",
                "status": "done",
                "channel": "visit",
                "activity_date": bangkok_today().isoformat(),
            },
        )
    finally:
        other_writer.execute("ROLLBACK")
        other_writer.close()

    assert answer.status_code == 503
    assert answer.headers["Retry-After"].isdigit()
    page = answer.get_data(as_text=True)
    assert "Nothing was saved" in page and "ยังไม่ถูกบันทึก" in page
    assert 'http-equiv="refresh"' not in page  # a form is never sent again behind the user's back
    assert _stored(application) == 0


def test_an_unreachable_postgresql_answers_503_with_retry_after(tmp_path):
    # Port 9 on 127.0.0.1 (discard) has no server: the connection is refused at once.
    url = "postgresql+psycopg://kamcrm@127.0.0.1:9/kamcrm?connect_timeout=2"
    application = create_app(_settings(url, tmp_path))
    client = application.test_client()

    api = client.get(
        "/api/v1/accounts", headers={"Authorization": f"Bearer {TOKEN_PREFIX}some-token"}
    )
    page = client.post("/login", data={"username": "kamr1", "password": "secret-password"})

    assert (api.status_code, page.status_code) == (503, 503)
    assert api.headers["Retry-After"] == page.headers["Retry-After"]
    assert api.get_json()["code"] == 503
    with application.app_context():
        db.engine.dispose()


def _broken_route(app):
    probe = Blueprint("broken_probe", __name__)

    @probe.get("/probe/missing-table")
    @access.public
    def missing_table():
        db.session.execute(sa.text("SELECT * FROM no_such_table"))
        return "unreachable"

    app.register_blueprint(probe)


def test_a_database_error_that_is_a_bug_stays_a_500(extra_app):
    application = extra_app({"PROPAGATE_EXCEPTIONS": False}, setup=_broken_route)
    answer = application.test_client().get("/probe/missing-table")
    assert answer.status_code == 500
    assert "Retry-After" not in answer.headers


# --- backups --------------------------------------------------------------------------------


def _cli(application, *args: str):
    """Run ``flask`` with ``application`` (conftest keeps the main test app's context pushed)."""
    with application.app_context():
        return application.test_cli_runner().invoke(args=list(args))


def _cr2(application) -> dict:
    from datetime import date

    from kamcrm.compliance.engine import cr2_report
    from kamcrm.org.scope import region_scope

    with application.app_context():
        report = cr2_report(2021, date(2021, 12, 31), region_scope())
        db.session.remove()
        return report


@pytest.fixture
def region_on_file(tmp_path):
    """A region on a SQLite file: two offices, accounts of every tier, a year of activities."""
    from datetime import date, timedelta

    application = create_app(_settings(f"sqlite:///{tmp_path / 'live.sqlite'}", tmp_path))
    with application.app_context():
        upgrade(directory=MIGRATIONS)
        make = factories.Factories()
        make.region()
        for code in ("CBI", "RYG"):
            office = make.office(code=code)
            for n, tier in enumerate(("STRATEGIC", "STAR", "STATUS", "STREAMLINE") * 3):
                account = make.account(office=office, tier=tier)
                for k, kind in enumerate(("FMS", "RBA", "COM", "SEM")):
                    if (n + k) % 3:
                        make.activity(
                            account, kind, date(2021, 1, 4) + timedelta(days=29 * n + 7 * k)
                        )
        db.session.commit()
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


def test_a_backup_restored_gives_the_same_cr2(region_on_file, tmp_path):
    before = _cr2(region_on_file)
    assert any(row["cumulative"]["Q1-4"] for row in before["rules"] if row["cumulative"]["Q1-4"])
    target = tmp_path / "copies" / "kamcrm.sqlite"

    result = _cli(region_on_file, "backup", "--to", str(target))

    assert result.exit_code == 0, result.output
    assert str(target) in result.output
    restored = create_app(_settings(f"sqlite:///{target}", tmp_path))
    assert _cr2(restored) == before
    with restored.app_context():
        db.engine.dispose()


def test_a_backup_taken_while_someone_writes_holds_only_committed_work(region_on_file, tmp_path):
    live = region_on_file.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")
    before = _cr2(region_on_file)
    writer = sqlite3.connect(live, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("DELETE FROM activities")  # not committed while the backup runs
    try:
        result = _cli(region_on_file, "backup", "--to", str(tmp_path / "b.sqlite"))
    finally:
        writer.execute("ROLLBACK")
        writer.close()

    assert result.exit_code == 0, result.output
    restored = create_app(_settings(f"sqlite:///{tmp_path / 'b.sqlite'}", tmp_path))
    assert _cr2(restored) == before
    with restored.app_context():
        db.engine.dispose()


def test_a_backup_never_overwrites_a_file(region_on_file, tmp_path):
    target = tmp_path / "kept.sqlite"
    target.write_bytes(b"an older backup")

    result = _cli(region_on_file, "backup", "--to", str(target))

    assert result.exit_code == 1
    assert "already exists" in result.output
    assert target.read_bytes() == b"an older backup"


def test_backup_on_postgresql_points_at_pg_dump(tmp_path):
    application = create_app(
        _settings("postgresql+psycopg://kamcrm:secret@127.0.0.1:9/kamcrm", tmp_path)
    )

    result = _cli(application, "backup")

    assert result.exit_code == 1
    assert "pg_dump --format=custom" in result.output
    assert "secret" not in result.output
