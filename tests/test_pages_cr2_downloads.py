"""The CR2 report downloads from its page as the compliance exporters render it."""

from __future__ import annotations

from datetime import date

import pytest

YEAR_ARGS = "year=2021&as_of=2021-06-30"


@pytest.fixture
def office(make):
    return make.office(code="CBI")


@pytest.fixture
def covered(make, office):
    account = make.account(office=office)
    make.activity(account, type="FMS", activity_date=date(2021, 2, 1))
    return account


@pytest.mark.parametrize("fmt, magic", [("xlsx", b"PK"), ("pdf", b"%PDF")])
def test_the_cr2_downloads_as_a_spreadsheet_and_a_pdf(
    client, login_as, make, office, covered, fmt, magic
):
    login_as("office_manager", office=office)
    response = client.get(f"/region/cr2.{fmt}?{YEAR_ARGS}")
    assert response.status_code == 200 and response.data[: len(magic)] == magic
    assert (
        f'filename="CR2_CBI_2021_as-of_2021-06-30.{fmt}"' in response.headers["Content-Disposition"]
    )
