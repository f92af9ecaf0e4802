"""The tier roster's pasted list is refused in its own terms: the user's line and the account
number, never the line or column of the file the page builds for the import."""

from __future__ import annotations

import re
from datetime import date

import pytest
import sqlalchemy as sa

from kamcrm.accounts.models import TierAssignment
from kamcrm.audit.models import AuditEntry
from kamcrm.extensions import db


@pytest.fixture
def staff(client, login_as, make):
    user = login_as("regional_staff", office=make.region())
    client.get("/language/en")
    return user


def _section(html: str) -> str:
    return html.split('id="problems-h"', 1)[1].split("</section>", 1)[0]


def _problems(html: str) -> list[tuple[str, str, str]]:
    body = _section(html).split("<tbody>", 1)[1]
    rows = re.findall(r"<tr><td[^>]*>(.*?)</td><td>(.*?)</td><td>(.*?)</td></tr>", body)
    return [tuple(cell.strip() for cell in row) for row in rows]


def _assignments() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(TierAssignment))


@pytest.mark.parametrize(
    "pasted, expected",
    [
        ("R-1\nNOPE-9\nR-2", [("2", "NOPE-9", "unknown account &#39;NOPE-9&#39;")]),
        ("R-1, R-2\n\nR-1, NOPE-9", [("3", "NOPE-9", "unknown account &#39;NOPE-9&#39;")]),
        (
            "NOPE-8\nR-1\nNOPE-9",
            [
                ("1", "NOPE-8", "unknown account &#39;NOPE-8&#39;"),
                ("3", "NOPE-9", "unknown account &#39;NOPE-9&#39;"),
            ],
        ),
    ],
)
def test_a_refused_selection_names_the_lines_of_the_pasted_list(
    client, make, staff, pasted, expected
):
    make.account(account_no="R-1"), make.account(account_no="R-2")
    assignments, entries = (
        _assignments(),
        db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)),
    )
    response = client.post(
        "/region/tiers/selection",
        data={"pick-account_nos": pasted, "pick-tier": "STAR", "pick-effective_from": "2021-07-01"},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert _problems(html) == expected
    assert "Line in your list" in _section(html) and "account_no" not in _section(html)
    assert (
        _assignments(),
        db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)),
    ) == (assignments, entries)


def test_a_refused_selection_speaks_of_the_list_not_a_file(client, make, staff):
    make.account(account_no="R-1")
    html = client.post(
        "/region/tiers/selection",
        data={
            "pick-account_nos": "R-1\nNOPE-8\nNOPE-9",
            "pick-tier": "STAR",
            "pick-effective_from": "2021-07-01",
        },
    ).get_data(as_text=True)
    assert (
        "Nothing was changed: 2 of the account numbers you listed cannot be re-tiered; see below."
        in html
    )
    assert "the file" not in html and "file" not in _section(html)


def test_a_refused_tiers_file_still_names_the_files_lines(client, make, staff):
    import io

    make.account(account_no="F-1")
    data = {
        "file-file": (
            io.BytesIO(
                b"account_no,tier,effective_from\nF-1,STATUS,2021-04-01\nNOPE-9,STAR,2021-04-01\n"
            ),
            "tiers.csv",
        )
    }
    html = client.post(
        "/region/tiers/file", data=data, content_type="multipart/form-data"
    ).get_data(as_text=True)
    assert "the file has 1 problem," in html
    assert _problems(html) == [("3", "account_no", "unknown account &#39;NOPE-9&#39;")]


def test_a_selection_listing_a_number_twice_re_tiers_it_once(client, make, staff):
    account = make.account(account_no="R-1")
    response = client.post(
        "/region/tiers/selection",
        data={
            "pick-account_nos": "R-1\nR-1, R-1",
            "pick-tier": "STAR",
            "pick-effective_from": "2021-07-01",
        },
    )
    assert response.status_code == 302
    assert (
        db.session.execute(
            sa.select(TierAssignment.tier).where(
                TierAssignment.account_id == account.id,
                TierAssignment.effective_from == date(2021, 7, 1),
            )
        ).scalar_one()
        == "STAR"
    )
