"""A bad file changes nothing and names every bad row: ``line N: field: reason`` (SPEC section 7)."""

from __future__ import annotations

import io
from datetime import date, datetime, timezone

import pytest

from kamcrm.imports.importer import RowError, import_file
from kamcrm.quarters.models import QuarterClose


def run(kind: str, text: str | bytes, filename: str = "file.csv", **options):
    data = text.encode("utf-8") if isinstance(text, str) else text
    return import_file(kind, io.BytesIO(data), filename, **options)


@pytest.fixture
def region(make):
    """R2 → CBI (class 1) → LCB (branch); a KAMR and an office manager; one account."""
    region = make.region("R2")
    office = make.office(code="CBI", parent=region)
    make.branch(office, code="LCB")
    make.user(role="kamr", office=office, username="kamr1")
    make.user(role="office_manager", office=office, username="manager1", exec_role="office_manager")
    make.user(role="executive", office=region, username="director", exec_role="region_director")
    make.account(office=office, account_no="020000000001")
    return office


ACTIVITY_HEADER = (
    "account_no,type,activity_date,performed_by,status,channel,exec_role,summary,ref,recorded_at\n"
)
ACCOUNT_HEADER = "account_no,name,office_code,tier,tier_effective_from,kamr_username,transformer_kva,boi,opened_on\n"


@pytest.mark.parametrize(
    "kind, text, expected",
    [
        # unknown office / account / user / tier / type / role
        (
            "users",
            "username,full_name,role,office_code\nu9,U Nine,kamr,NOPE\n",
            (2, "office_code", "unknown office 'NOPE'"),
        ),
        (
            "accounts",
            ACCOUNT_HEADER + "020000000009,X Co,NOPE,,,,,,\n",
            (2, "office_code", "unknown office 'NOPE'"),
        ),
        (
            "offices",
            "code,name,office_class,parent_code\nNEW,New,branch,NOPE\n",
            (2, "parent_code", "unknown office 'NOPE'"),
        ),
        (
            "activities",
            ACTIVITY_HEADER + "029999999999,COM,2021-02-01,kamr1,,,,,,\n",
            (2, "account_no", "unknown account '029999999999'"),
        ),
        (
            "tiers",
            "account_no,tier,effective_from\n029999999999,STAR,2021-01-01\n",
            (2, "account_no", "unknown account '029999999999'"),
        ),
        (
            "activities",
            ACTIVITY_HEADER + "020000000001,COM,2021-02-01,nobody,,,,,,\n",
            (2, "performed_by", "unknown user 'nobody'"),
        ),
        (
            "accounts",
            ACCOUNT_HEADER + "020000000009,X Co,CBI,,,nobody,,,\n",
            (2, "kamr_username", "unknown user 'nobody'"),
        ),
        (
            "accounts",
            ACCOUNT_HEADER + "020000000009,X Co,CBI,GOLD,,,,,\n",
            (2, "tier", "'GOLD' is not a tier"),
        ),
        (
            "tiers",
            "account_no,tier,effective_from\n020000000001,GOLD,2021-01-01\n",
            (2, "tier", "'GOLD' is not a tier"),
        ),
        (
            "activities",
            ACTIVITY_HEADER + "020000000001,XYZ,2021-02-01,kamr1,,,,,,\n",
            (2, "type", "'XYZ' is not an activity type"),
        ),
        (
            "users",
            "username,full_name,role,office_code\nu9,U Nine,boss,CBI\n",
            (2, "role", "'boss' is not a role"),
        ),
        (
            "activities",
            ACTIVITY_HEADER + "020000000001,EXV,2021-02-01,director,,,ceo,,,\n",
            (2, "exec_role", "'ceo' is not an executive role"),
        ),
        # bad date
        (
            "activities",
            ACTIVITY_HEADER + "020000000001,COM,2021-02-30,kamr1,,,,,,\n",
            (2, "activity_date", "'2021-02-30' is not a date"),
        ),
        (
            "accounts",
            ACCOUNT_HEADER + "020000000009,X Co,CBI,,,,,,01/02/2021\n",
            (2, "opened_on", "'01/02/2021' is not a date"),
        ),
        (
            "tiers",
            "account_no,tier,effective_from\n020000000001,STAR,2021-1-1\n",
            (2, "effective_from", "'2021-1-1' is not a date"),
        ),
        (
            "activities",
            ACTIVITY_HEADER + "020000000001,COM,2021-02-01,kamr1,,,,,,2021-02-01 10:00\n",
            (2, "recorded_at", "has no UTC offset"),
        ),
        # bad number, bad boolean
        (
            "accounts",
            ACCOUNT_HEADER + "020000000009,X Co,CBI,,,,12a,,\n",
            (2, "transformer_kva", "'12a' is not a number"),
        ),
        (
            "accounts",
            ACCOUNT_HEADER + "020000000009,X Co,CBI,,,,-1,,\n",
            (2, "transformer_kva", "'-1' is below 0"),
        ),
        (
            "accounts",
            ACCOUNT_HEADER + "020000000009,X Co,CBI,,,,,maybe,\n",
            (2, "boi", "'maybe' is not true or false"),
        ),
        # missing required value
        (
            "activities",
            ACTIVITY_HEADER + "020000000001,,2021-02-01,kamr1,,,,,,\n",
            (2, "type", "is required"),
        ),
        # rules between fields
        (
            "activities",
            ACTIVITY_HEADER + "020000000001,EXV,2021-02-01,director,,,,,,\n",
            (2, "exec_role", "an executive visit (EXV) needs the role"),
        ),
        (
            "activities",
            ACTIVITY_HEADER + "020000000001,COM,2021-02-01,kamr1,,,office_manager,,,\n",
            (2, "exec_role", "only an executive visit (EXV) has an exec_role"),
        ),
        (
            "activities",
            ACTIVITY_HEADER + "020000000001,COM,2199-01-01,kamr1,done,,,,,\n",
            (2, "activity_date", "a done activity cannot lie in the future"),
        ),
        (
            "users",
            "username,full_name,role,office_code,exec_role\nu9,U Nine,kamr,CBI,region_director\n",
            (2, "exec_role", "the role kamr has no exec_role"),
        ),
        (
            "offices",
            "code,name,office_class,parent_code\nB2,Branch,branch,LCB\n",
            (2, "parent_code", "a branch office sits under a class 1-3 office"),
        ),
    ],
)
def test_a_bad_value_is_reported_with_its_line_field_and_value(region, kind, text, expected):
    result = run(kind, text)
    assert not result.ok
    line, field, words = expected
    assert [(e.line, e.field) for e in result.errors] == [(line, field)]
    assert words in result.errors[0].message


@pytest.mark.parametrize(
    "kind, text, field, words",
    [
        (
            "offices",
            "code,name,office_class\nA1,A,1\nA1,B,2\n",
            "code",
            "'A1' appears again (first on line 2)",
        ),
        (
            "users",
            "username,full_name,role,office_code\nu1,A,kamr,CBI\nu1,B,kamr,CBI\n",
            "username",
            "'u1' appears again (first on line 2)",
        ),
        (
            "accounts",
            "account_no,name,office_code\n02X,A,CBI\n02X,B,CBI\n",
            "account_no",
            "'02X' appears again (first on line 2)",
        ),
        (
            "tiers",
            "account_no,tier,effective_from\n020000000001,STAR,2021-01-01\n020000000001,STATUS,2021-01-01\n",
            "effective_from",
            "appears again (first on line 2)",
        ),
        (
            "activities",
            ACTIVITY_HEADER + "020000000001,COM,2021-02-01,kamr1,,,,,R-1,\n"
            "020000000001,RBA,2021-02-02,kamr1,,,,,R-1,\n",
            "ref",
            "'R-1' appears again (first on line 2)",
        ),
    ],
)
def test_a_key_twice_in_one_file_is_reported_on_the_second_line(region, kind, text, field, words):
    result = run(kind, text)
    assert [(e.line, e.field) for e in result.errors] == [(3, field)]
    assert words in result.errors[0].message


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "account_no,activity_date,performed_by\n020000000001,2021-02-01,kamr1\n",
            [RowError(1, "type", "required column missing")],
        ),
        (
            "account_no,type,activity_date,performed_by,performed_by\n",
            [RowError(1, "performed_by", "the column appears twice")],
        ),
        (
            "",
            [
                RowError(
                    1,
                    "file",
                    "the file is empty; the first line must name the columns (account_no, type, "
                    "activity_date, performed_by, status, channel, exec_role, summary, ref, recorded_at)",
                )
            ],
        ),
    ],
    ids=["missing-column", "column-twice", "empty-file"],
)
def test_a_file_whose_header_cannot_be_read_is_refused_at_line_1(region, text, expected):
    assert run("activities", text).errors == expected


def test_an_unknown_column_is_reported_and_the_rows_are_still_checked(region):
    result = run(
        "activities",
        "account_no,type,activity_date,performed_by,colour\n"
        "020000000001,COM,2021-02-01,kamr1,red\n"
        "020000000001,XYZ,2021-02-01,kamr1,blue\n",
    )
    assert [(e.line, e.field) for e in result.errors] == [(1, "colour"), (3, "type")]
    assert result.errors[0].message.startswith(
        "unknown column; a file of activities has the columns account_no, type"
    )


@pytest.mark.parametrize(
    "data, filename, expected",
    [
        (
            b"account_no,type\n",
            "activities.txt",
            RowError(1, "file", "'activities.txt' is not a .csv or .xlsx file"),
        ),
        (
            b"account_no,type,activity_date,performed_by\n020000000001,COM,2021-02-01,kamr1\n"
            + b"\xff\xfe,x\n",
            "a.csv",
            RowError(3, "file", "the file is not UTF-8 text"),
        ),
        (
            b"PK\x03\x04 not really a workbook",
            "a.xlsx",
            RowError(1, "file", "the file is not a readable XLSX workbook"),
        ),
        (
            b"account_no,type,activity_date,performed_by\n020000000001,COM,2021-02-01,kamr1,extra\n",
            "a.csv",
            RowError(2, "file", "the row has 5 cells but the header names only 4 columns"),
        ),
    ],
    ids=["extension", "not-utf8", "not-xlsx", "too-many-cells"],
)
def test_a_file_that_cannot_be_read_is_refused(region, data, filename, expected):
    assert expected in run("activities", data, filename).errors


def test_every_bad_row_is_reported_not_only_the_first(region):
    rows = ["020000000001,COM,2021-02-01,kamr1,,,,,,"] * 7
    rows[1] = "020000000001,XYZ,2021-02-01,kamr1,,,,,,"
    rows[4] = "020000000001,COM,2021-02-31,kamr1,,,,,,"
    rows[6] = "020000000001,COM,2021-02-01,ghost,,,,,,"
    result = run("activities", ACTIVITY_HEADER + "\n".join(rows) + "\n", chunk_size=2)
    assert [(e.line, e.field) for e in result.errors] == [
        (3, "type"),
        (6, "activity_date"),
        (8, "performed_by"),
    ]


def test_one_row_with_several_faults_reports_each(region):
    result = run(
        "activities", ACTIVITY_HEADER + "029999999999,XYZ,2021-13-01,ghost,maybe,pigeon,,,,\n"
    )
    assert sorted(e.field for e in result.errors) == [
        "account_no",
        "activity_date",
        "channel",
        "performed_by",
        "status",
        "type",
    ]
    assert {e.line for e in result.errors} == {2}


@pytest.mark.parametrize(
    "actor_role, reason, words",
    [
        (None, None, "Quarter 2021-Q1 is closed; a reason is required."),
        (
            "kamr",
            "late report",
            "Quarter 2021-Q1 is closed; only regional staff can change its activities.",
        ),
    ],
)
def test_activities_of_a_closed_quarter_need_staff_and_a_reason(
    region, make, actor_role, reason, words
):
    from kamcrm.extensions import db

    db.session.add(
        QuarterClose(
            year=2021, quarter=1, closed_at=datetime(2021, 4, 16, tzinfo=timezone.utc), snapshot={}
        )
    )
    db.session.flush()
    actor = make.user(role=actor_role, office=region) if actor_role else None
    result = run(
        "activities",
        ACTIVITY_HEADER + "020000000001,COM,2021-02-01,kamr1,,,,,,\n",
        actor=actor,
        reason=reason,
    )
    assert [(e.line, e.field) for e in result.errors] == [(2, "activity_date")]
    assert words in result.errors[0].message


def test_the_command_prints_every_bad_row_and_exits_non_zero(region, runner, tmp_path):
    path = tmp_path / "activities.csv"
    path.write_text(
        ACTIVITY_HEADER + "020000000001,XYZ,2021-02-01,kamr1,,,,,,\n"
        "020000000001,COM,2021-02-01,kamr1,,,,,,\n"
        "020000000001,COM,2021-02-01,ghost,,,,,,\n",
        encoding="utf-8",
    )
    result = runner.invoke(args=["import", "activities", str(path)])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "line 2: type: 'XYZ' is not an activity type (FMS, RBA, COM, EXV, SEM, PLN, BOI, BIZ)",
        "line 4: performed_by: unknown user 'ghost'",
        "Nothing was imported: 2 bad line(s) in activities.csv.",
    ]


def test_the_command_reports_what_it_imported(region, runner, tmp_path):
    path = tmp_path / "tiers.csv"
    path.write_text(
        "account_no,tier,effective_from\n020000000001,STAR,2021-07-01\n", encoding="utf-8"
    )
    result = runner.invoke(args=["import", "tiers", str(path)])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(
        "Imported 1 rows of tiers from tiers.csv: 1 created, 0 updated, 0 unchanged"
    )


def test_dates_in_the_past_are_fine_for_done_activities(region):
    assert run(
        "activities",
        ACTIVITY_HEADER + f"020000000001,COM,{date.today().replace(year=2020)},kamr1,,,,,,\n",
    ).ok
