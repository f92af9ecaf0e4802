"""``flask users …``: create, set-password, deactivate, token, tokens, revoke-token, demo-logins."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from kamcrm.audit.models import AuditEntry
from kamcrm.extensions import db
from kamcrm.org import tokens
from kamcrm.org.models import ApiToken, User
from kamcrm.org.passwords import verify_password

PASSWORD = "correct horse battery"


@pytest.fixture
def office(make):
    return make.office(code="CBI")


def _user(username) -> User:
    db.session.expire_all()
    return db.session.execute(sa.select(User).where(User.username == username)).scalar_one_or_none()


def test_create_makes_an_audited_user(runner, office):
    result = runner.invoke(
        args=[
            "users",
            "create",
            "nok",
            "--role",
            "office_manager",
            "--office",
            "CBI",
            "--full-name",
            "นกน้อย ใจดี",
            "--email",
            "nok@example.org",
        ]
    )
    assert result.exit_code == 0, result.output
    user = _user("nok")
    assert (user.role, user.office.code, user.exec_role, user.full_name) == (
        "office_manager",
        "CBI",
        "office_manager",
        "นกน้อย ใจดี",
    )
    assert (
        db.session.execute(
            sa.select(AuditEntry).where(AuditEntry.entity == "users", AuditEntry.action == "create")
        )
        .scalar_one()
        .entity_key
        == "nok"
    )


@pytest.mark.parametrize(
    "args, words",
    [
        (["--role", "kamr", "--office", "NOPE"], "office_code"),
        (["--role", "kamr", "--office", "CBI", "--exec-role", "region_director"], "exec_role"),
    ],
)
def test_create_explains_what_is_wrong_and_creates_nothing(runner, office, args, words):
    result = runner.invoke(args=["users", "create", "nok", *args])
    assert result.exit_code == 1 and words in result.output
    assert _user("nok") is None


def test_create_refuses_a_taken_username(runner, make, office):
    make.user(username="nok", office=office)
    result = runner.invoke(args=["users", "create", "nok", "--role", "kamr", "--office", "CBI"])
    assert result.exit_code == 1 and "already exists" in result.output


def test_set_password_asks_twice_without_echo(runner, make):
    make.user(username="nok")
    result = runner.invoke(args=["users", "set-password", "nok"], input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output
    assert verify_password(_user("nok").password_hash, PASSWORD)


def test_set_password_reads_stdin_for_scripts(runner, make):
    make.user(username="nok")
    result = runner.invoke(
        args=["users", "set-password", "nok", "--password-stdin"], input=PASSWORD + "\n"
    )
    assert result.exit_code == 0, result.output
    assert verify_password(_user("nok").password_hash, PASSWORD)


def test_set_password_refuses_a_short_password(runner, make):
    make.user(username="nok")
    db.session.commit()  # the command rolls back its own work only (a savepoint here)
    result = runner.invoke(
        args=["users", "set-password", "nok", "--password-stdin"], input="short\n"
    )
    assert result.exit_code == 1 and "at least" in result.output
    assert _user("nok").password_hash is None


def test_deactivate_stops_the_user_and_is_audited(runner, make):
    make.user(username="nok")
    result = runner.invoke(args=["users", "deactivate", "nok"])
    assert result.exit_code == 0, result.output
    assert _user("nok").active is False
    entry = db.session.execute(
        sa.select(AuditEntry).where(AuditEntry.action == "update")
    ).scalar_one()
    assert entry.after == {"active": False}


def test_token_prints_a_working_token_once(runner, make):
    user = make.user(username="nok")
    result = runner.invoke(args=["users", "token", "nok", "--name", "etl", "--expires-days", "30"])
    assert result.exit_code == 0, result.output
    raw = result.stdout.strip()
    assert tokens.verify_token(raw) == user
    stored = db.session.execute(sa.select(ApiToken)).scalar_one()
    assert stored.name == "etl" and stored.expires_at is not None


def test_tokens_lists_without_secrets_and_revoke_token_revokes(runner, make):
    user = make.user(username="nok")
    token, raw = tokens.issue_token(user, "etl", actor=None)
    listing = runner.invoke(args=["users", "tokens", "nok"])
    assert "etl" in listing.output and token.prefix in listing.output and raw not in listing.output
    result = runner.invoke(args=["users", "revoke-token", str(token.id)])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert token.revoked_at is not None
    assert "revoked" in runner.invoke(args=["users", "tokens", "nok"]).output


@pytest.mark.parametrize(
    "args",
    [
        ["set-password", "ghost"],
        ["deactivate", "ghost"],
        ["token", "ghost"],
        ["tokens", "ghost"],
        ["revoke-token", "999999"],
    ],
)
def test_commands_name_what_they_could_not_find(runner, args):
    result = runner.invoke(args=["users", *args], input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 1 and ("ghost" in result.output or "999999" in result.output)


def test_demo_logins_gives_passwordless_users_one_and_prints_it_again(runner, make, app):
    import os

    make.user(role="kamr", username="a-kamr")
    make.user(role="admin", username="a-admin", password_hash="$argon2id$set-elsewhere")
    first = runner.invoke(args=["users", "demo-logins"])
    assert first.exit_code == 0, first.output
    line = next(line for line in first.output.splitlines() if "a-kamr" in line)
    password = line.split()[-1]
    assert verify_password(_user("a-kamr").password_hash, password)
    assert "set elsewhere" in next(line for line in first.output.splitlines() if "a-admin" in line)
    assert password in runner.invoke(args=["users", "demo-logins"]).output
    path = os.path.join(app.instance_path, "demo_logins.txt")
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    os.remove(path)
