"""The due list: which accounts still need which activity to meet each rule this period.

For every frequency rule of the year, the current period is the period of the rule's kind
that contains ``today`` (Bangkok). An account is due when it is active today, holds the
rule's tier today and has fewer than ``min_count`` done activities of the rule's type
dated from the period's start to today — exactly the figure the CR2 report would show
as of today. Most urgent first: fewest days left, then most missing, then tier order.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date

import sqlalchemy as sa

from kamcrm.accounts.models import TIERS, Account
from kamcrm.accounts.queries import active_on, tier_on
from kamcrm.activities.models import Activity
from kamcrm.compliance.engine import tune_for_reports
from kamcrm.compliance.targets import RuleTarget, year_targets
from kamcrm.extensions import db
from kamcrm.org.models import Office, User
from kamcrm.org.scope import Scope
from kamcrm.periods import Window, bangkok_today, period_containing


@dataclass(frozen=True)
class DueItem:
    """One account that still needs ``needed`` more activities of ``type`` this period."""

    account_id: int
    account_no: str
    account_name: str
    office_code: str
    kamr_username: str | None
    kamr_name: str | None
    tier: str
    item: str
    type: str
    period: str
    period_start: date
    period_end: date
    min_count: int
    #: Done activities of the type from the period's start to today.
    done: int
    #: Planned activities of the type from today to the period's end.
    planned: int
    needed: int
    #: Days from today to the period's last day (0: the period ends today).
    days_left: int

    def as_dict(self) -> dict:
        """Return the item as JSON-safe data."""
        data = asdict(self)
        data["period_start"] = self.period_start.isoformat()
        data["period_end"] = self.period_end.isoformat()
        return data


def current_periods(rules: tuple[RuleTarget, ...], today: date) -> dict[RuleTarget, Window]:
    """Return the period of each rule's kind that contains ``today``."""
    return {rule: period_containing(rule.period, today) for rule in rules}


def due_query(scope: Scope, today: date, *, kamr_id: int | None = None) -> sa.Select | None:
    """Return the SELECT behind ``due_list`` (ordered, unpaged), or None when no rule applies.

    One pass over the accounts in scope computes each one's tier today; one GROUP BY over
    the done and planned activities of the rule types in the current periods counts them
    per account; each rule then contributes the accounts of its tier short of its minimum.
    """
    rules = year_targets(today.year).rules
    if not rules:
        return None
    periods = current_periods(rules, today)
    account_filter = [scope.covers(Account.office_id), active_on(today)]
    if kamr_id is not None:
        account_filter.append(Account.kamr_id == kamr_id)
    accounts = (
        sa.select(
            Account.id.label("account_id"),
            Account.account_no,
            Account.name.label("account_name"),
            Account.office_id,
            Account.kamr_id,
            tier_on(Account.id, today).label("tier"),
        )
        .where(*account_filter)
        .cte("due_accounts")
    )

    columns, labels = [], {}
    for rule, period in periods.items():
        key = (rule.type, period)
        if key in labels:
            continue
        labels[key] = (f"d{len(labels)}", f"p{len(labels)}")
        done_label, planned_label = labels[key]
        of_type = Activity.type == rule.type
        columns.append(
            sa.func.sum(
                sa.case(
                    (
                        sa.and_(
                            of_type,
                            Activity.status == "done",
                            Activity.activity_date.between(period.start, today),
                        ),
                        1,
                    ),
                    else_=0,
                )
            ).label(done_label)
        )
        columns.append(
            sa.func.sum(
                sa.case(
                    (
                        sa.and_(
                            of_type,
                            Activity.status == "planned",
                            Activity.activity_date.between(today, period.end),
                        ),
                        1,
                    ),
                    else_=0,
                )
            ).label(planned_label)
        )
    earliest = min(p.start for p in periods.values())
    latest = max(p.end for p in periods.values())
    counts = (
        sa.select(Activity.account_id, *columns)
        .where(
            Activity.status.in_(("done", "planned")),
            Activity.type.in_(sorted({rule.type for rule in rules})),
            Activity.activity_date.between(earliest, latest),
            Activity.account_id.in_(sa.select(accounts.c.account_id)),
        )
        .group_by(Activity.account_id)
        .cte("due_counts")
    )

    branches = []
    for position, (rule, period) in enumerate(periods.items()):
        done_label, planned_label = labels[(rule.type, period)]
        done = sa.func.coalesce(counts.c[done_label], 0)
        planned = sa.func.coalesce(counts.c[planned_label], 0)
        branches.append(
            sa.select(
                accounts.c.account_id,
                accounts.c.account_no,
                accounts.c.account_name,
                accounts.c.office_id,
                accounts.c.kamr_id,
                accounts.c.tier,
                sa.literal(position).label("rule_position"),
                sa.literal(TIERS.index(rule.tier)).label("tier_rank"),
                sa.literal((period.end - today).days).label("days_left"),
                done.label("done"),
                planned.label("planned"),
                (sa.literal(rule.min_count) - done).label("needed"),
            )
            .select_from(accounts.outerjoin(counts, counts.c.account_id == accounts.c.account_id))
            .where(accounts.c.tier == rule.tier, done < rule.min_count)
        )
    due = sa.union_all(*branches).subquery("due")
    return (
        sa.select(due, Office.code.label("office_code"), User.username, User.full_name)
        .join(Office, Office.id == due.c.office_id)
        .outerjoin(User, User.id == due.c.kamr_id)
        .order_by(
            due.c.days_left,
            due.c.needed.desc(),
            due.c.tier_rank,
            due.c.account_no,
            due.c.rule_position,
        )
    )


def due_list(
    scope: Scope,
    today: date | None = None,
    *,
    kamr_id: int | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[DueItem]:
    """Return what is due within ``scope`` (only ``kamr_id``'s accounts if given), most urgent first."""
    today = today or bangkok_today()
    query = due_query(scope, today, kamr_id=kamr_id)
    if query is None:
        return []
    tune_for_reports()
    if limit is not None:
        query = query.limit(limit)
    if offset:
        query = query.offset(offset)
    rules = list(current_periods(year_targets(today.year).rules, today).items())
    items = []
    for row in db.session.execute(query).mappings():
        rule, period = rules[row["rule_position"]]
        items.append(
            DueItem(
                account_id=row["account_id"],
                account_no=row["account_no"],
                account_name=row["account_name"],
                office_code=row["office_code"],
                kamr_username=row["username"],
                kamr_name=row["full_name"],
                tier=rule.tier,
                item=rule.item,
                type=rule.type,
                period=rule.period,
                period_start=period.start,
                period_end=period.end,
                min_count=rule.min_count,
                done=int(row["done"]),
                planned=int(row["planned"]),
                needed=int(row["needed"]),
                days_left=int(row["days_left"]),
            )
        )
    return items


def due_count(scope: Scope, today: date | None = None, *, kamr_id: int | None = None) -> int:
    """Return how many items ``due_list`` would return (for paging)."""
    query = due_query(scope, today or bangkok_today(), kamr_id=kamr_id)
    if query is None:
        return 0
    tune_for_reports()
    return db.session.execute(
        sa.select(sa.func.count()).select_from(query.order_by(None).subquery())
    ).scalar()
