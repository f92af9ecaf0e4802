"""``flask users …``: create and deactivate users, set passwords, issue and revoke API tokens.

The operator at the command line acts as the system (``actor`` None); every change is
still written to the audit log. Each command commits once, or changes nothing.
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

import click
import sqlalchemy as sa
from flask import current_app

from kamcrm.extensions import db
from kamcrm.org import auth, tokens
from kamcrm.org.models import EXEC_ROLES, ROLES, ApiToken, User
from kamcrm.periods import BANGKOK
from kamcrm.transactions import CommandGroup

users_cli = CommandGroup("users", help="Users, passwords and API tokens.")

#: File in the instance folder that remembers the demo passwords ``demo-logins`` made.
DEMO_LOGINS_FILE = "demo_logins.txt"


def _user(username: str) -> User:
    user = auth.find_user(username)
    if user is None:
        raise click.ClickException(f"No user is called {username!r}.")
    return user


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("New password", hide_input=True, confirmation_prompt="Repeat the password")


@users_cli.command("create")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--office", "office_code", required=True, help="Code of the user's office.")
@click.option(
    "--exec-role", type=click.Choice(EXEC_ROLES), help="Executive role the visits count for."
)
@click.option("--full-name", help="Name shown on pages (default: the username).")
@click.option("--email")
@click.option("--password-stdin", is_flag=True, help="Read a first password from standard input.")
def create_user_command(username, role, office_code, exec_role, full_name, email, password_stdin):
    """Create a user (through kamcrm.org.operations.create_user)."""
    from kamcrm.org.operations import create_user

    data = {
        "username": username,
        "full_name": full_name or username,
        "role": role,
        "office_code": office_code,
    }
    if exec_role:
        data["exec_role"] = exec_role
    if email:
        data["email"] = email
    user = create_user(data, actor=None)
    db.session.flush()
    if password_stdin:
        auth.set_password(user, _read_password(True), actor=None)
    click.echo(f"Created {user.username} ({user.role}, {office_code}).")


@users_cli.command("set-password")
@click.argument("username")
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from standard input (scripts)."
)
def set_password_command(username, password_stdin):
    """Set a user's password (asked twice, hidden)."""
    user = _user(username)
    password = _read_password(password_stdin)
    auth.set_password(user, password, actor=None)
    click.echo(f"Password of {user.username} is set.")


@users_cli.command("deactivate")
@click.argument("username")
def deactivate_command(username):
    """Stop a user from signing in and from using API tokens; their records stay."""
    from kamcrm.org.operations import update_user

    user = _user(username)
    if not user.active:
        raise click.ClickException(f"{user.username} is already deactivated.")
    update_user(user, {"active": False}, actor=None)
    click.echo(f"{user.username} is deactivated.")


@users_cli.command("token")
@click.argument("username")
@click.option("--name", default="cli", show_default=True, help="What the token is for.")
@click.option(
    "--expires-days", type=click.IntRange(1, tokens.MAX_EXPIRY_DAYS), help="Expire after D days."
)
def token_command(username, name, expires_days):
    """Create an API token and print it (shown this once only)."""
    user = _user(username)
    token, raw = tokens.issue_token(user, name, actor=None, expires_days=expires_days)
    click.echo(raw)
    click.echo(
        f"Token {token.id} “{token.name}” for {user.username}; it is not stored and "
        "cannot be shown again.",
        err=True,
    )


def _local(moment) -> str:
    return moment.astimezone(BANGKOK).strftime("%Y-%m-%d %H:%M") if moment else "-"


@users_cli.command("tokens")
@click.argument("username")
def tokens_command(username):
    """List a user's API tokens."""
    user = _user(username)
    rows = tokens.tokens_of(user)
    if not rows:
        click.echo(f"{user.username} has no API tokens.")
        return
    click.echo(
        f"{'id':>5}  {'prefix':<13} {'state':<8} {'created':<16}  "
        f"{'last used':<16}  {'expires':<16}  name"
    )
    for token in rows:
        click.echo(
            f"{token.id:>5}  {token.prefix + '…':<13} {tokens.token_state(token):<8} "
            f"{_local(token.created_at):<16}  {_local(token.last_used_at):<16}  "
            f"{_local(token.expires_at):<16}  {token.name}"
        )


@users_cli.command("revoke-token")
@click.argument("token_id", type=int)
def revoke_token_command(token_id):
    """Revoke an API token by its id."""
    token = db.session.get(ApiToken, token_id)
    if token is None:
        raise click.ClickException(f"No API token has the id {token_id}.")
    tokens.revoke_token(token, actor=None)
    click.echo(f"API token {token_id} “{token.name}” of {token.user.username} is revoked.")


@users_cli.command("demo-logins")
@click.option("--host", default="127.0.0.1", show_default=True, help="Host the server listens on.")
@click.option(
    "--port",
    default=5000,
    show_default=True,
    type=click.IntRange(1, 65535),
    help="Port the server listens on.",
)
def demo_logins_command(host: str, port: int):
    """Give one user of each role a password for trying kamcrm out, and print them.

    Only users with no password at all get one (a random one, remembered in the instance
    folder with mode 0600 so that ``make run`` can print it again); a user whose password
    was set any other way is never touched.
    """
    remembered = _read_demo_logins()
    chosen = []
    for role in ROLES:
        user = db.session.execute(
            sa.select(User)
            .where(User.role == role, User.active.is_(True))
            .order_by(User.username)
            .limit(1)
        ).scalar_one_or_none()
        if user is not None:
            chosen.append(user)
    if not chosen:
        click.echo("No users yet: load the demo region (flask seed demo) or create users first.")
        return
    lines = []
    for user in chosen:
        password = remembered.get(user.username)
        known = password and auth.password_matches(user.password_hash, password)
        if user.password_hash and not known:
            lines.append(f"{user.role:<15} {user.username:<20} (password set elsewhere)")
            continue
        if not user.password_hash:
            password = secrets.token_urlsafe(9)
            auth.set_password(user, password, actor=None)
            remembered[user.username] = password
        lines.append(f"{user.role:<15} {user.username:<20} {password}")
    _write_demo_logins(remembered)
    shown_host = f"[{host}]" if ":" in host else host
    click.echo(f"Demo sign-ins (http://{shown_host}:{port}/login):")
    for line in lines:
        click.echo("  " + line)


def _demo_logins_path() -> Path:
    return Path(current_app.instance_path) / DEMO_LOGINS_FILE


def _read_demo_logins() -> dict[str, str]:
    path = _demo_logins_path()
    if not path.exists():
        return {}
    pairs = (line.split(" ", 1) for line in path.read_text().splitlines() if " " in line)
    return {name: password for name, password in pairs}


def _write_demo_logins(remembered: dict[str, str]) -> None:
    path = _demo_logins_path()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.writelines(f"{name} {password}\n" for name, password in sorted(remembered.items()))
