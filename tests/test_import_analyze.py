"""A large import refreshes the planner statistics of the tables it wrote (issue 16).

The threshold (``ANALYZE_ROWS``, 10,000 rows) is lowered here so that a small file counts
as large; what is checked is that the statistics exist afterwards, on both databases, and
that a small import leaves them alone.
"""

from __future__ import annotations

import io
from datetime import datetime, timezone

import pytest

from kamcrm.extensions import db
from kamcrm.imports import importer
from kamcrm.imports.importer import import_file

NOW = datetime(2021, 9, 1, 3, 0, tzinfo=timezone.utc)
HEADER = "account_no,type,activity_date,performed_by,status,exec_role,ref,recorded_at\n"


@pytest.fixture
def region(make):
    office = make.office(code="CBI", parent=make.region("R2"))
    make.user(role="kamr", office=office, username="kamr1")
    for n in range(1, 4):
        make.account(office=office, account_no=f"02000000000{n}")
    return office


def _activities_file(rows: int) -> io.BytesIO:
    lines = [
        f"02000000000{1 + n % 3},COM,2021-05-{1 + n % 28:02d},kamr1,,,R-{n},\n" for n in range(rows)
    ]
    return io.BytesIO((HEADER + "".join(lines)).encode("utf-8"))


def _rows_the_planner_knows(table: str) -> int | None:
    """The row count the planner's statistics hold for ``table`` (None: no statistics)."""
    connection = db.session.connection()
    if connection.dialect.name == "sqlite":
        if not connection.exec_driver_sql(
            "SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'"
        ).scalar():
            return None
        stat = connection.exec_driver_sql(
            "SELECT stat FROM sqlite_stat1 WHERE tbl = ? ORDER BY idx LIMIT 1", (table,)
        ).scalar()
        return None if stat is None else int(stat.split()[0])
    return int(
        connection.exec_driver_sql(
            "SELECT reltuples FROM pg_class WHERE oid = %s::regclass", (table,)
        ).scalar()
    )


def test_a_large_import_analyzes_the_tables_it_wrote(region, monkeypatch):
    monkeypatch.setattr(importer, "ANALYZE_ROWS", 20)
    result = import_file("activities", _activities_file(30), "a.csv", now=NOW)
    assert result.ok, result.errors
    assert result.created == 30
    assert _rows_the_planner_knows("activities") == 30
    connection = db.session.connection()
    if connection.dialect.name == "sqlite":  # the sample bound is the connection's own again
        assert connection.exec_driver_sql("PRAGMA analysis_limit").scalar() == 0


def test_a_small_or_refused_import_does_not(region, monkeypatch):
    analyzed = []
    monkeypatch.setattr(importer, "analyze_tables", analyzed.append)
    monkeypatch.setattr(importer, "ANALYZE_ROWS", 20)
    assert import_file("activities", _activities_file(19), "a.csv", now=NOW).ok
    bad = io.BytesIO(
        (
            HEADER
            + "".join(f"020000000001,COM,2021-05-01,kamr1,,,S-{n},\n" for n in range(25))
            + "029999999999,COM,2021-05-01,kamr1,,,S-99,\n"
        ).encode("utf-8")
    )
    assert not import_file("activities", bad, "b.csv", now=NOW).ok
    assert analyzed == []
    larger = io.BytesIO(_activities_file(25).getvalue().replace(b"R-", b"T-"))
    assert import_file("activities", larger, "c.csv", now=NOW).ok
    assert analyzed == [("activities",)]
