"""Who commits: one place per surface, so that no view or command commits for itself.

Operations flush and never commit (ARCHITECTURE.md). The caller owns the transaction, and
each surface has exactly one owner, in the manner of Indico's request handler:

* **pages and the API** — ``finish_request``, called by the application once the view has
  returned (``kamcrm.KamcrmFlask.dispatch_request``): an answer below 400 commits the
  request's work; anything else commits nothing, and the session is discarded with the
  request. A view that catches a refusal and still answers below 400 (a flash and a
  redirect) runs the operation in a savepoint (``db.session.begin_nested()``), so the refused
  part is gone before the commit. An error raised by the view or by the commit
  itself goes to the error handlers of ``kamcrm.security`` like any other: a refusal, a
  conflict found by the database (409), a database that cannot answer (503). A read-only
  request (GET, HEAD, OPTIONS) commits only if it wrote something, so a streamed export keeps
  its snapshot and its loaded rows until the stream ends.
* **CLI commands** — ``CommandGroup`` (or ``in_one_transaction`` on a command of its own): the
  command's callback runs in ``unit_of_work``, committed when it returns and rolled back when
  it raises (a ``SystemExit`` too); an operation's refusal (``KamcrmError``) becomes a
  ``click.ClickException`` with its message, exit status 1.
* **jobs** — ``kamcrm.jobs.runner.run_job``: one run, one transaction (its claim is committed
  before, by ``kamcrm.jobs.claims``, so that other hosts see it).

A few infrastructure steps commit on their own and say why where they do: the sign-in
bookkeeping in ``kamcrm.security`` (kept even when the request is then refused), the job
claims, each delivered mail in ``kamcrm.jobs.notify`` (a crash must not send it twice), and the
import runner's progress rows.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager

import click
from flask.cli import AppGroup
from sqlalchemy import event
from sqlalchemy.orm import Session

from kamcrm.errors import KamcrmError
from kamcrm.extensions import db

#: ``Session.info`` key: set once the session has written something in this transaction.
WROTE = "kamcrm.wrote"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@event.listens_for(Session, "after_flush")
def _note_flush(session, flush_context):
    session.info[WROTE] = True


@event.listens_for(Session, "do_orm_execute")
def _note_statement(state):
    # Core INSERT/UPDATE/DELETE run through the session (the lean write paths) write without
    # a flush; they count as writes too.
    if state.is_insert or state.is_update or state.is_delete:
        state.session.info[WROTE] = True


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget_writes(session):
    session.info.pop(WROTE, None)


def has_written(session: Session | None = None) -> bool:
    """Whether ``session`` (default: the request's) holds uncommitted writes."""
    session = session or db.session()
    return bool(session.info.get(WROTE) or session.new or session.dirty or session.deleted)


def finish_request(status: int, method: str) -> None:
    """End a page's or an API call's unit of work once its view has answered ``status``.

    Below 400 the work is committed. An answer of 400 or more commits nothing: the request's
    session is discarded, and its work rolled back, when the request ends (Flask-SQLAlchemy
    removes it with the application context), exactly as after an error raised by the view.
    """
    if status < 400 and (method not in SAFE_METHODS or has_written()):
        db.session.commit()


@contextmanager
def unit_of_work() -> Iterator[None]:
    """Commit what the block did when it ends normally; roll it back when it raises."""
    try:
        yield
    except BaseException:
        db.session.rollback()
        raise
    db.session.commit()


def refusal_text(error: KamcrmError) -> str:
    """An operation's refusal as a command prints it: the message, then each field's reasons."""
    details = "".join(
        f"\n  {field}: {' '.join(messages)}" for field, messages in error.errors.items()
    )
    return f"{error.message}{details}"


def in_one_transaction(callback):
    """Run a ``flask`` command's callback in one ``unit_of_work`` (use it under the click
    decorators of a command outside a ``CommandGroup``); an operation's refusal ends the
    command with its message and exit status 1, having changed nothing."""

    if getattr(callback, "in_one_transaction", False):
        return callback

    @functools.wraps(callback)
    def command(*args, **kwargs):
        try:
            with unit_of_work():
                return callback(*args, **kwargs)
        except KamcrmError as error:
            raise click.ClickException(refusal_text(error)) from None

    command.in_one_transaction = True
    return command


class CommandGroup(AppGroup):
    """A ``flask`` command group whose commands each run ``in_one_transaction``: a command
    never commits for itself. Use it for every group of commands that change data."""

    def command(self, *args, **kwargs):
        wrap = super().command(*args, **kwargs)
        return lambda callback: wrap(in_one_transaction(callback))

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        # A command made elsewhere and added here runs in one transaction too.
        if cmd.callback is not None and not isinstance(cmd, click.Group):
            cmd.callback = in_one_transaction(cmd.callback)
        super().add_command(cmd, name)
