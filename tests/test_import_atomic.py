"""All or nothing: one bad row leaves every table exactly as it was."""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa

from kamcrm.extensions import db
from kamcrm.imports.importer import import_file


def run(kind: str, text: str, **options):
    return import_file(kind, io.BytesIO(text.encode("utf-8")), f"{kind}.csv", **options)


def table_contents() -> dict[str, list]:
    """Every row of every table (ordered), so that any change at all shows."""
    contents = {}
    for table in db.metadata.sorted_tables:
        order = [column for column in table.primary_key.columns]
        contents[table.name] = [
            tuple(row) for row in db.session.execute(sa.select(table).order_by(*order))
        ]
    return contents


@pytest.fixture
def region(make):
    region = make.region("R2")
    office = make.office(code="CBI", parent=region)
    make.user(role="kamr", office=office, username="kamr1")
    for number in ("020000000001", "020000000002"):
        make.account(office=office, account_no=number)
    return office


GOOD_ACTIVITY = "020000000001,COM,2021-02-01,kamr1,,,,,R-{n},"


@pytest.mark.parametrize(
    "kind, text",
    [
        (
            "offices",
            "code,name,office_class,parent_code\nRYG,Rayong,1,R2\nKLG,Klaeng,branch,RYG\nBAD,Bad,9,R2\n",
        ),
        (
            "users",
            "username,full_name,role,office_code\nnew1,New One,kamr,CBI\nnew2,New Two,boss,CBI\n",
        ),
        (
            "accounts",
            "account_no,name,office_code,tier,tier_effective_from\n"
            "020000000001,Renamed,CBI,STAR,2021-06-01\n020000000003,New Co,CBI,STATUS,\n"
            "020000000004,Bad Co,CBI,GOLD,\n",
        ),
        (
            "tiers",
            "account_no,tier,effective_from\n020000000001,STAR,2021-06-01\n020000000002,,2021-06-01\n"
            "020000000001,STATUS,2021-13-01\n",
        ),
        (
            "activities",
            "account_no,type,activity_date,performed_by,status,channel,exec_role,summary,ref,recorded_at\n"
            + "\n".join(GOOD_ACTIVITY.format(n=n) for n in range(9))
            + "\n"
            "020000000001,COM,2021-02-01,ghost,,,,,R-X,\n",
        ),
    ],
)
def test_one_bad_row_changes_nothing_even_after_chunks_were_written(region, kind, text):
    before = table_contents()
    result = run(kind, text, chunk_size=2)  # small chunks: good rows are written before the bad one
    assert not result.ok
    assert table_contents() == before


def test_a_bad_row_after_a_ref_update_leaves_the_first_activity_as_it_was(region):
    header = "account_no,type,activity_date,performed_by,ref\n"
    assert run("activities", header + "020000000001,COM,2021-02-01,kamr1,R-1\n").ok
    before = table_contents()
    result = run(
        "activities",
        header + "020000000002,RBA,2021-03-01,kamr1,R-1\n020000000001,COM,2021-02-01,ghost,R-2\n",
        chunk_size=1,
    )
    assert [e.line for e in result.errors] == [3]
    assert table_contents() == before


def test_a_good_file_is_kept_after_the_caller_commits(region):
    result = run(
        "activities",
        "account_no,type,activity_date,performed_by\n020000000001,COM,2021-02-01,kamr1\n",
    )
    db.session.commit()
    assert result.ok and result.created == 1
    assert len(table_contents()["activities"]) == 1


class Trickle(io.RawIOBase):
    """A stream that hands out a few bytes at a time, like a slow upload."""

    def __init__(self, data: bytes):
        self._data = io.BytesIO(data)
        self._size = len(data)

    def readable(self):
        return True

    def readinto(self, buffer):
        chunk = self._data.read(min(len(buffer), 64))
        buffer[: len(chunk)] = chunk
        return len(chunk)

    def seekable(self):
        return True

    def tell(self):
        return self._data.tell()

    def seek(self, offset, whence=0):
        return self._data.seek(offset, whence)


@pytest.fixture
def statements():
    """The SQL statements run while the test runs."""
    seen = []

    def remember(connection, cursor, statement, *args):
        seen.append(statement)

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", remember)
    yield seen
    sa.event.remove(sa.engine.Engine, "before_cursor_execute", remember)


ACTIVITY_FILE = (
    "account_no,type,activity_date,performed_by,status,channel,exec_role,summary,ref,recorded_at\n"
    + "".join(GOOD_ACTIVITY.format(n=n) + "\n" for n in range(40))
)


@pytest.mark.parametrize(
    "tail, ok",
    [("", True), ("020000000001,XYZ,2021-02-01,kamr1,,,,,,\n", False)],
    ids=["good-file", "bad-last-row"],
)
def test_a_large_import_on_sqlite_sets_indexes_aside_and_ends_with_the_same_indexes(
    region, is_postgres, monkeypatch, statements, tail, ok
):
    from kamcrm.imports import activities

    monkeypatch.setattr(activities, "DEFER_INDEXES_ROWS", 5)

    def activity_indexes():
        # A partial index's WHERE is reflected as a TextClause, compared here by its text.
        return [
            {
                **index,
                "dialect_options": {
                    key: str(value) for key, value in index["dialect_options"].items()
                },
            }
            for index in sa.inspect(db.session.connection()).get_indexes("activities")
        ]

    indexes = activity_indexes()
    result = import_file(
        "activities", Trickle((ACTIVITY_FILE + tail).encode()), "a.csv", chunk_size=4
    )
    assert result.ok is ok
    dropped = any(statement.startswith("DROP INDEX") for statement in statements)
    assert dropped is (not is_postgres)
    assert activity_indexes() == indexes
    assert len(table_contents()["activities"]) == (40 if ok else 0)


def test_a_key_taken_by_a_concurrent_writer_is_a_conflict_and_keeps_nothing(region, monkeypatch):
    from kamcrm.errors import Conflict
    from kamcrm.imports import activities

    header = "account_no,type,activity_date,performed_by,ref\n"
    assert run("activities", header + "020000000001,COM,2021-02-01,kamr1,R-1\n").ok
    before = table_contents()
    # as if R-1 had been saved by someone else after the import looked it up
    monkeypatch.setattr(activities.ActivityImporter, "_existing", lambda self, refs: {})
    with pytest.raises(Conflict):
        run(
            "activities",
            header
            + "020000000002,COM,2021-02-03,kamr1,R-2\n020000000002,RBA,2021-02-04,kamr1,R-1\n",
        )
    assert table_contents() == before
