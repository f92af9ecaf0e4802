"""The demo region's service jobs, SMS and phone answers and Smile Box days, with some
offices behind on their call quotas."""

from __future__ import annotations

from datetime import date

from kamcrm.org.scope import office_scope
from kamcrm.seed.demo import load_region, seed_demo
from kamcrm.surveys import queries


def test_the_demo_region_has_surveys_with_offices_behind_on_quota(app_ctx):
    today = date(2026, 11, 24)
    result = seed_demo(today, passwords=False, close_quarters=False)
    assert result.counts["service_jobs"] > 1000 and result.counts["survey_answers"] > 500
    assert result.counts["smile_box_days"] > 1000
    data = load_region()
    slow = next(o["code"] for o in data["offices"] if o.get("behind"))
    fast = next(o["code"] for o in data["offices"] if not o.get("behind"))

    def met_share(code):
        rows = {
            r["key"]: r
            for r in queries.cr1_rows(None, year=2026, as_of=today, scope=office_scope(code))
        }
        cells = [
            rows[key]["cumulative"]["Q1-4"]["value"]
            for key in ("survey_quota_extension", "survey_satisfaction", "smile_box_share")
        ]
        return cells

    (slow_quota, slow_mean, slow_box), (fast_quota, fast_mean, fast_box) = (
        met_share(slow),
        met_share(fast),
    )
    assert slow_box < 70 <= fast_box
    assert slow_quota < 100 == fast_quota  # behind on the extension quota
    assert slow_mean < 4.4718 <= fast_mean
