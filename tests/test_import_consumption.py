"""``flask --app kamcrm import consumption FILE`` (SPEC section 10): all or nothing,
line-numbered refusals, and a month imported again replaces the stored one."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from kamcrm.errors import Forbidden
from kamcrm.extensions import db
from kamcrm.imports.importer import import_file
from kamcrm.prospects.models import Consumption

HEADER = "account_no,month,kwh,peak_kw,peak_kva,revenue_thb\n"


def run(text: str, **options):
    return import_file(
        "consumption", io.BytesIO(text.encode("utf-8")), "consumption.csv", **options
    )


@pytest.fixture
def accounts(make):
    office = make.office(code="CBI", parent=make.region("R2"))
    return [make.account(office=office, account_no=number) for number in ("A1", "A2")]


def stored():
    return [
        (c.account_id, c.month, c.kwh, c.peak_kw, c.peak_kva, c.revenue_thb)
        for c in db.session.scalars(
            sa.select(Consumption).order_by(Consumption.account_id, Consumption.month)
        )
    ]


def test_a_good_file_is_stored(accounts):
    result = run(
        HEADER + 'A1,2024-01,"12,500.5",40,,51234.25\nA1,2024-02,100,,55.5,\nA2,2024-01,0,,,\n'
    )
    assert result.ok, result.errors
    assert (result.rows, result.created, result.updated) == (3, 3, 0)
    a1, a2 = (a.id for a in accounts)
    assert stored() == [
        (a1, date(2024, 1, 1), Decimal("12500.50"), Decimal("40.00"), None, Decimal("51234.25")),
        (a1, date(2024, 2, 1), Decimal("100.00"), None, Decimal("55.50"), None),
        (a2, date(2024, 1, 1), Decimal("0.00"), None, None, None),
    ]


def test_a_month_imported_again_replaces_the_stored_one(accounts):
    assert run(HEADER + "A1,2024-01,100,40,,\nA1,2024-02,200,,,\n").ok
    result = run(HEADER + "A1,2024-01,150,,60,\n")
    assert result.ok
    assert (result.created, result.updated) == (0, 1)
    rows = stored()
    assert [(r[1], r[2], r[3], r[4]) for r in rows] == [
        (date(2024, 1, 1), Decimal("150.00"), None, Decimal("60.00")),  # the whole month replaced
        (date(2024, 2, 1), Decimal("200.00"), None, None),
    ]


@pytest.mark.parametrize(
    "row, field, words",
    [
        ("A1,2024-1,10,,,", "month", "not a month"),
        ("A1,2024-13,10,,,", "month", "not a month"),
        ("A1,01/2024,10,,,", "month", "not a month"),
        ("A1,2999-01,10,,,", "month", "not between"),
        ("A1,2024-01,-5,,,", "kwh", "negative"),
        ("A1,2024-01,,,,", "kwh", "required"),
        ("A1,2024-01,abc,,,", "kwh", "not a number"),
        ("A1,2024-01,nan,,,", "kwh", "not a number"),
        ("A1,2024-01,400000000,,,", "kwh", "beyond any real account"),
        ("A1,2024-01,10,-1,,", "peak_kw", "negative"),
        ("A1,2024-01,10,600000,,", "peak_kw", "beyond any real account"),
        ("A1,2024-01,10,,1e9,", "peak_kva", "beyond any real account"),
        ("NOPE,2024-01,10,,,", "account_no", "unknown account 'NOPE'"),
    ],
)
def test_bad_rows_are_refused_with_their_line_and_nothing_is_stored(accounts, row, field, words):
    result = run(HEADER + "A2,2024-01,10,,,\n" + row + "\n")
    assert not result.ok
    assert [(e.line, e.field) for e in result.errors] == [(3, field)]
    assert words in result.errors[0].message
    assert stored() == []


def test_a_future_month_is_refused(accounts):
    result = run(HEADER + f"A1,{date.today().year + 1}-01,10,,,\n")
    assert [(e.line, e.field) for e in result.errors] == [(2, "month")]
    assert "not been billed yet" in result.errors[0].message


def test_a_duplicate_account_month_in_one_file_is_refused(accounts):
    result = run(HEADER + "A1,2024-01,10,,,\nA2,2024-01,10,,,\nA1,2024-01,11,,,\n")
    assert [(e.line, e.field) for e in result.errors] == [(4, "month")]
    assert "A1" in result.errors[0].message and "2024-01" in result.errors[0].message
    assert stored() == []


def test_unknown_columns_and_missing_required_ones_are_refused(accounts):
    result = run("account_no,month,kw\nA1,2024-01,10\n")
    assert not result.ok
    assert {(e.line, e.field) for e in result.errors} == {(1, "kw"), (1, "kwh")}


def test_only_regional_staff_and_admins_import_consumption(accounts, make):
    office_manager = make.user(role="office_manager", office=accounts[0].office)
    with pytest.raises(Forbidden):
        run(HEADER + "A1,2024-01,10,,,\n", actor=office_manager)
    staff = make.user(role="regional_staff", office=accounts[0].office)
    assert run(HEADER + "A1,2024-01,10,,,\n", actor=staff).ok
