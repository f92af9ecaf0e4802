"""The demo region's three years of consumption give every prospect list a realistic handful."""

from __future__ import annotations

from datetime import date

from kamcrm.prospects import queries
from kamcrm.seed.demo import seed_demo


def test_the_demo_region_has_a_handful_on_each_list(app_ctx):
    today = date(2026, 11, 24)
    result = seed_demo(today, passwords=False, close_quarters=False)
    assert result.counts["consumption_months"] > 500 * 36 - 100
    snapshot = queries.latest_snapshot(2026)
    assert snapshot.version == 1
    counts = queries.list_counts(snapshot)
    assert 3 <= counts["HV1"] <= 60, counts
    assert 3 <= counts["HV2"] <= 60, counts
    assert 3 <= counts["INCOMPLETE"] <= 40, counts
