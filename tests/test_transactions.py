"""Who commits: the request once its view has answered, a command once it has returned.

The operations flush and never commit (``kamcrm.transactions``); these tests count the
commits the application makes, and show that a commit the database refuses is answered like
any other database error, because it runs before the answer leaves.
"""

from __future__ import annotations

import sqlite3

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

from kamcrm.extensions import db
from kamcrm.org.models import Office
from tests.test_api_support import api, world  # noqa: F401  (fixtures)


@pytest.fixture
def commits():
    """The number of commits of any session, counted while the test runs."""
    seen = []

    def count(session):
        if not session.in_nested_transaction():  # a savepoint released is no commit
            seen.append(session)

    event.listen(Session, "after_commit", count)
    yield seen
    event.remove(Session, "after_commit", count)


@pytest.fixture
def admin_api(api, world, commits):
    """The admin's API client, its token's last-use time already recorded (that bookkeeping
    is a commit of its own, at most once a minute), and the commit count back at zero."""
    caller = api(world.admin)
    caller.get("/offices")
    commits.clear()
    return caller


def _office(code):
    return db.session.scalar(sa.select(Office).where(Office.code == code))


def test_a_write_is_committed_once_by_the_request(admin_api, commits):
    response = admin_api.post(
        "/offices",
        json={"code": "OB2", "name": "สาขา", "office_class": "branch", "parent_code": "OB"},
    )

    assert (response.status_code, len(commits)) == (201, 1)
    assert _office("OB2") is not None


def test_a_refused_write_commits_nothing_and_stores_nothing(admin_api, commits):
    response = admin_api.post(
        "/offices", json={"code": "NEW", "name": "Orphan", "office_class": "branch"}
    )

    assert (response.status_code, len(commits)) == (422, 0)
    assert _office("NEW") is None


def test_a_read_commits_nothing(admin_api, commits):
    response = admin_api.get("/offices/OA")

    assert (response.status_code, len(commits)) == (200, 0)


def test_a_commit_the_database_cannot_take_is_answered_503_like_any_database_outage(
    admin_api, monkeypatch
):
    def locked():
        raise sa.exc.OperationalError("COMMIT", {}, sqlite3.OperationalError("database is locked"))

    monkeypatch.setattr(db.session, "commit", locked)
    response = admin_api.post(
        "/offices",
        json={"code": "OB3", "name": "สาขา", "office_class": "branch", "parent_code": "OB"},
    )

    assert response.status_code == 503 and response.headers["Retry-After"]
    assert response.get_json()["code"] == 503


def test_a_command_commits_once_when_it_succeeds(runner, world, commits):
    result = runner.invoke(args=["users", "token", world.admin.username, "--name", "ci"])

    assert (result.exit_code, len(commits)) == (0, 1)


def test_a_refused_command_commits_nothing_and_says_why(runner, world, commits):
    result = runner.invoke(
        args=["users", "create", "new.user", "--role", "kamr", "--office", "NOPE"]
    )

    assert result.exit_code != 0 and len(commits) == 0
    assert "NOPE" in result.output or "office" in result.output.lower()


def _commits_in(path):
    import ast

    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "commit"
    ]


def test_no_view_and_no_command_commits_for_itself():
    """Pages and the API are committed by the request, commands by their group
    (``kamcrm.transactions``): a ``commit()`` in a view or a command is a second owner."""
    from pathlib import Path

    package = Path(__file__).resolve().parent.parent / "kamcrm"
    surfaces = [
        *package.glob("web/*.py"),
        *package.glob("api/*.py"),
        *package.glob("*/cli.py"),
        package / "reports" / "closing.py",
        package / "reports" / "prospects.py",
    ]
    found = {
        str(path.relative_to(package)): lines for path in surfaces if (lines := _commits_in(path))
    }
    assert found == {}
