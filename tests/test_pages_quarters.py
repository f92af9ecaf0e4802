"""Quarter close from the regional office's page."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from kamcrm.extensions import db
from kamcrm.periods import bangkok_today
from kamcrm.quarters.models import QuarterClose

#: Last year's first quarter: long due to close, and always among the quarters the page lists.
YEAR = bangkok_today().year - 1
DUE = f"{YEAR}-Q1"


@pytest.fixture
def staff(login_as, make):
    return login_as("regional_staff", office=make.region())


def test_a_due_quarter_is_closed(client, staff):
    response = client.post("/region/quarters", data={"quarter": DUE, "action": "close"})
    assert response.status_code == 302
    assert db.session.execute(sa.select(QuarterClose).filter_by(year=YEAR, quarter=1)).scalar_one()
    page = client.get("/region/quarters").get_data(as_text=True)
    assert f"ไตรมาส 1/{YEAR + 543}" in page  # the flash names it the Thai way, not {DUE}


def test_quarters_are_offered_by_their_thai_names(client, staff):
    html = client.get("/region/quarters").get_data(as_text=True)
    assert re.search(rf'<option value="{DUE}">1/{YEAR + 543}</option>', html)


@pytest.mark.parametrize("quarter", ["2021-Q9", "soon", "2569-Q3"])
def test_a_quarter_not_offered_is_refused_beside_the_field(client, staff, quarter):
    response = client.post("/region/quarters", data={"quarter": quarter, "action": "close"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="quarter-error"' in html
    assert (
        db.session.execute(sa.select(sa.func.count()).select_from(QuarterClose)).scalar_one() == 0
    )


def test_staff_may_not_reopen_a_quarter(client, staff):
    client.post("/region/quarters", data={"quarter": DUE, "action": "close"})
    response = client.post(
        "/region/quarters", data={"quarter": DUE, "action": "reopen", "reason": "แก้ไข"}
    )
    assert response.status_code == 422
    assert (
        db.session.execute(sa.select(QuarterClose).filter_by(year=YEAR, quarter=1))
        .scalar_one()
        .reopened_at
        is None
    )


def test_staff_are_not_offered_a_reopen_they_may_not_do(client, staff):
    html = client.get("/region/quarters").get_data(as_text=True)
    assert "เปิดไตรมาสอีกครั้ง" not in html and 'value="reopen"' not in html
