"""Reports and lists never show an office outside the caller's scope, whichever way it is asked."""

from __future__ import annotations

import pytest

from kamcrm.org.tokens import issue_token

#: API reads that take an office (or user) filter in the query string: the value out of
#: scope is filled in for ``{office}`` / ``{user}``.
API_READS = [
    "/api/v1/reports/cr2?year=2021&office={office}",
    "/api/v1/reports/monthly?month=2021-03&office={office}",
    "/api/v1/reports/due?office={office}",
    "/api/v1/reports/due?user={user}",
]


@pytest.fixture
def kamr_and_outsider(make):
    """A KAMR of office CBI, and an office RYG (with a KAMR and an account) outside its scope."""
    cbi, ryg = make.office(code="CBI"), make.office(code="RYG")
    outsider = make.user(role="kamr", office=ryg, username="ryg-kamr")
    make.account(office=ryg, kamr=outsider)
    return make.user(role="kamr", office=cbi), outsider


@pytest.mark.parametrize("template", API_READS)
def test_an_office_out_of_scope_is_not_found_in_api_reports(
    app, client, kamr_and_outsider, template
):
    kamr, outsider = kamr_and_outsider
    path = template.format(office="RYG", user=outsider.username)
    assert any(rule.rule == path.split("?")[0] for rule in app.url_map.iter_rules())
    headers = {"Authorization": "Bearer " + issue_token(kamr, "t", actor=None)[1]}
    response = client.get(path, headers=headers)
    assert response.status_code == 404, response.get_data(as_text=True)[:200]
    own = client.get(template.format(office="CBI", user=kamr.username), headers=headers)
    assert own.status_code == 200, own.get_data(as_text=True)[:200]


@pytest.mark.parametrize(
    "query, statuses",
    [("", {200}), ("?q=AC", {200}), ("?kamr=ryg-kamr", {200, 404}), ("?office=RYG", {404})],
)
def test_the_account_list_shows_nothing_out_of_scope(client, kamr_and_outsider, query, statuses):
    kamr, _ = kamr_and_outsider
    headers = {"Authorization": "Bearer " + issue_token(kamr, "t", actor=None)[1]}
    response = client.get("/api/v1/accounts" + query, headers=headers)
    assert response.status_code in statuses
    if response.status_code == 200:  # a 404 may repeat the code asked for; a list may not show it
        assert "RYG" not in response.get_data(as_text=True)
