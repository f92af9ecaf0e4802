"""The monthly complaint return (SPEC section 8): per office and region, for a month, as of
its last day, with the breakdown by customer group."""

from __future__ import annotations

import json
from datetime import date

from kamcrm.compliance.complaints import monthly_complaint_return
from kamcrm.org.scope import office_scope, region_scope


def test_the_return_counts_the_month_as_of_its_last_day(make):
    office = make.office(code="CBI")
    branch = make.branch(office, code="CBI-B")
    star = make.account(office=office, tier="STAR")
    # February, received before March: closed in March counts as closed; not in the rows.
    make.complaint(
        office, received_at="2021-02-20T09:00:00+07:00", closed_at="2021-03-02T09:00:00+07:00"
    )
    # March: met (STAR account), missed (closed late in April: open at month end, 15-day
    # METER_BILLING past on Mar 31), pending (received Mar 30), excluded.
    make.complaint(
        account=star,
        category="OTHER",
        received_at="2021-03-01T09:00:00+07:00",
        closed_at="2021-03-05T09:00:00+07:00",
    )
    make.complaint(
        branch,
        category="METER_BILLING",
        received_at="2021-03-01T09:00:00+07:00",
        closed_at="2021-04-20T09:00:00+07:00",
    )
    make.complaint(office, category="OTHER", received_at="2021-03-30T09:00:00+07:00")
    make.complaint(
        office, category="OTHER", excluded="withdrawn", received_at="2021-03-10T09:00:00+07:00"
    )
    # Elsewhere: not in CBI's return.
    make.complaint(make.office(code="RYG"), received_at="2021-03-03T09:00:00+07:00")

    report = monthly_complaint_return(2021, 3, office_scope("CBI"))
    assert (report["month"], report["as_of"], report["scope"]) == ("2021-03", "2021-03-31", "CBI")
    assert (report["received"], report["closed"], report["open_at_month_end"]) == (4, 2, 3)
    total = next(r for r in report["rows"] if r["item"] == "2.1a" and r["category"] is None)
    assert {k: total["month"][k] for k in ("received", "excluded", "met", "missed", "pending")} == {
        "received": 3,
        "excluded": 1,
        "met": 1,
        "missed": 1,
        "pending": 1,
    }
    assert (total["month"]["pct"], total["month"]["final"]) == (50.0, False)
    groups = {g["tier"]: g["month"] for g in report["customer_groups"]}
    assert list(groups) == ["STRATEGIC", "STAR", "STATUS", "STREAMLINE", None]
    assert (groups["STAR"]["met"], groups["STAR"]["received"]) == (1, 1)
    assert (groups[None]["missed"], groups[None]["pending"], groups[None]["excluded"]) == (1, 1, 1)
    region = monthly_complaint_return(2021, 3, region_scope())
    assert region["received"] == 5


def test_the_command_prints_the_return(make, runner, app_ctx):
    from kamcrm.extensions import db

    make.region()
    make.complaint(make.office(code="CBI"), received_at="2021-03-01T09:00:00+07:00")
    db.session.commit()
    result = runner.invoke(args=["report", "complaints", "--month", "2021-03", "--office", "CBI"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["received"] == 1
    bad = runner.invoke(args=["report", "complaints", "--month", "2021-13"])
    assert bad.exit_code != 0 and "not a month" in bad.output
