"""Quarter close from the regional office's page."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from kamcrm.extensions import db
from kamcrm.reports.models import QuarterClose


@pytest.fixture
def staff(login_as, make):
    return login_as("regional_staff", office=make.region())


def test_a_due_quarter_is_closed(client, staff):
    response = client.post("/region/quarters", data={"quarter": "2021-Q1", "action": "close"})
    assert response.status_code == 302
    assert db.session.execute(sa.select(QuarterClose).filter_by(year=2021, quarter=1)).scalar_one()


@pytest.mark.parametrize("quarter", ["2021-Q9", "soon"])
def test_a_bad_quarter_is_refused_beside_the_field(client, staff, quarter):
    response = client.post("/region/quarters", data={"quarter": quarter, "action": "close"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="quarter-error"' in html and f'value="{quarter}"' in html


def test_staff_may_not_reopen_a_quarter(client, staff):
    client.post("/region/quarters", data={"quarter": "2021-Q1", "action": "close"})
    response = client.post("/region/quarters", data={"quarter": "2021-Q1", "action": "reopen", "reason": "แก้ไข"})
    assert response.status_code == 422
    assert db.session.execute(sa.select(QuarterClose).filter_by(year=2021, quarter=1)).scalar_one().reopened_at is None
