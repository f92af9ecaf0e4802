"""``flask --app kamcrm import complaints FILE`` (SPEC sections 7 and 8): all or nothing,
line-numbered errors, and a re-imported ref updates."""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa

from kamcrm.audit.models import AuditEntry
from kamcrm.complaints.models import Complaint
from kamcrm.extensions import db
from kamcrm.imports.importer import import_file

HEADER = "ref,office_code,account_no,category,channel,urgent,received_at,closed_at,excluded,summary,resolution,assigned_to\n"


def run(text: str, **options):
    return import_file("complaints", io.BytesIO(text.encode("utf-8")), "complaints.csv", **options)


@pytest.fixture
def region(make):
    region = make.region("R2")
    office = make.office(code="CBI", parent=region)
    make.branch(office, code="LCB")
    make.user(role="kamr", office=office, username="kamr1")
    make.account(office=office, account_no="020000000001", tier="STAR")
    return office


def stored():
    return {
        c.ref: c for c in db.session.execute(sa.select(Complaint).order_by(Complaint.ref)).scalars()
    }


def test_a_good_file_is_imported(region):
    result = run(
        HEADER
        + "C1,CBI,,meter_billing,phone,no,2021-02-01T09:00:00+07:00,2021-02-03T09:00:00+07:00,,bill too high,re-read,kamr1\n"
        + "C2,,020000000001,OTHER,chat,yes,2021-02-01T23:30:00+07:00,,,,,\n"
        + "C3,LCB,,NETWORK,,,2021-02-05T10:00:00+07:00,,misconduct,,,\n"
    )
    assert result.ok, result.errors
    assert (result.created, result.updated) == (3, 0)
    rows = stored()
    assert rows["C1"].days_to_close == 2 and rows["C1"].assigned_to.username == "kamr1"
    assert (
        rows["C2"].office.code == "CBI"
        and rows["C2"].urgent is True
        and rows["C2"].received_on.day == 1
    )
    assert rows["C3"].excluded == "misconduct" and rows["C3"].office.code == "LCB"


def test_a_reimported_ref_updates_and_the_change_is_audited(region):
    assert run(HEADER + "C1,CBI,,OTHER,,,2021-02-01T09:00:00+07:00,,,,,\n").ok
    # A file with fewer columns: those left out keep their values.
    result = run(
        "ref,category,received_at,closed_at,resolution\n"
        "C1,OTHER,2021-02-01T09:00:00+07:00,2021-02-10T09:00:00+07:00,fixed\n"
    )
    assert result.ok, result.errors
    assert (result.created, result.updated) == (0, 1)
    complaint = stored()["C1"]
    assert (
        complaint.office.code == "CBI"
        and complaint.days_to_close == 9
        and complaint.resolution == "fixed"
    )
    assert complaint.version == 2
    entry = db.session.execute(
        sa.select(AuditEntry).where(
            AuditEntry.entity == "complaints", AuditEntry.entity_key == "C1"
        )
    ).scalar_one()
    assert (
        entry.after["closed_at"] == "2021-02-10T02:00:00+00:00"
        and entry.before["closed_at"] is None
    )


def test_a_file_with_bad_rows_changes_nothing_and_names_every_line(region):
    result = run(
        HEADER
        + "C1,CBI,,OTHER,,,2021-02-01T09:00:00+07:00,,,,,\n"
        + "C2,NOPE,,OTHER,,,2021-02-01T09:00:00+07:00,,,,,\n"
        + "C3,CBI,,WEATHER,,,2021-02-01T09:00:00+07:00,,,,,\n"
        + "C4,CBI,,OTHER,,,2021-02-01T09:00:00+07:00,2021-01-01T09:00:00+07:00,,,x,\n"
        + "C5,CBI,,OTHER,,,2021-02-01T09:00:00+07:00,2021-02-02T09:00:00+07:00,,,,\n"
        + "C6,CBI,,OTHER,,,2021-02-01T09:00:00+07:00,,bored,,,\n"
        + "C1,CBI,,OTHER,,,2021-02-01T09:00:00+07:00,,,,,\n"
        + "C8,,,OTHER,,,2021-02-01T09:00:00+07:00,,,,,ghost\n"
    )
    assert not result.ok
    assert [(e.line, e.field) for e in result.errors] == [
        (3, "office_code"),
        (4, "category"),
        (5, "closed_at"),
        (6, "resolution"),
        (7, "excluded"),
        (8, "ref"),
        (9, "office_code"),
        (9, "assigned_to"),
    ]
    assert stored() == {}


def test_the_command_prints_line_numbered_errors(region, runner, tmp_path, app_ctx):
    db.session.commit()  # the command's failed run rolls its session back
    path = tmp_path / "complaints.csv"
    path.write_text(HEADER + "C1,NOPE,,OTHER,,,2021-02-01T09:00:00+07:00,,,,,\n", encoding="utf-8")
    result = runner.invoke(args=["import", "complaints", str(path)])
    assert result.exit_code != 0
    assert "line 2: office_code: unknown office 'NOPE'" in result.output
    path.write_text(HEADER + "C1,CBI,,OTHER,,,2021-02-01T09:00:00+07:00,,,,,\n", encoding="utf-8")
    result = runner.invoke(args=["import", "complaints", str(path)])
    assert result.exit_code == 0, result.output
