"""The monthly complaint return (SPEC section 8) kept "as reported", as the monthly summary is.

The figures are ``kamcrm.compliance.complaints.monthly_complaint_return``: one office (its
branches rolled up) or the region, for a month, as of the month's last day. An office's
return is due on the 10th day after the month ends and the region's on the 20th; on each
due day the job keeps a ``reported`` copy (``ComplaintReturn``), which never changes after.
"As of now" is computed on demand (kept as ``on_demand`` when asked to) and compared with
the reported copy: a close recorded after the due day, back-dated into the month, moves
"now" and not what was reported.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import sqlalchemy as sa

from kamcrm.complaints.models import Complaint
from kamcrm.complaints.queries import closed_by
from kamcrm.compliance.complaints import monthly_complaint_return
from kamcrm.errors import Message, NotFound
from kamcrm.extensions import db
from kamcrm.org.access import scope_for
from kamcrm.org.models import MANAGED_OFFICE_CLASSES, Office
from kamcrm.org.scope import Scope, region_office, region_scope, scope_of_office
from kamcrm.periods import BANGKOK, month_end, month_key, parse_month
from kamcrm.reports.models import ComplaintReturn

#: Days after the month's end on which a return falls due (SPEC section 8).
OFFICE_DUE_DAYS = 10
REGION_DUE_DAYS = 20


class NotReportedYet(NotFound):
    """The return as reported was asked for before the job kept it."""


def due_on(year: int, month: int, *, region: bool) -> date:
    """Return the day the return of ``month`` falls due: the 10th day after the month's end
    for an office, the 20th for the region (Bangkok calendar days)."""
    return month_end(year, month) + timedelta(days=REGION_DUE_DAYS if region else OFFICE_DUE_DAYS)


def scope_name(scope: Scope) -> str:
    """Return the name of the office a scope is, or the regional office's."""
    office = region_office() if scope.is_region else db.session.get(Office, scope.office_id)
    return office.name if office is not None else scope.code


def build_return(year: int, month: int, scope: Scope) -> dict:
    """Return the complaint return of ``month`` within ``scope`` as of now (JSON-safe, not
    kept): the figures with the scope's name and the day the return is due."""
    data = monthly_complaint_return(year, month, scope)
    data["scope_name"] = scope_name(scope)
    data["due_on"] = due_on(year, month, region=scope.is_region).isoformat()
    return data


# --- kept returns -----------------------------------------------------------------------------


def keep_return(data: dict, kind: str, now: datetime, actor=None) -> ComplaintReturn:
    """Keep ``data`` (from ``build_return``) as a return of ``kind`` generated at ``now``."""
    year, month = parse_month(data["month"])
    kept = ComplaintReturn(
        month=date(year, month, 1),
        scope_code=data["scope"],
        kind=kind,
        generated_at=now,
        generated_by_id=getattr(actor, "id", None),
        data=data,
    )
    db.session.add(kept)
    db.session.flush()
    return kept


def kept_return(year: int, month: int, scope_code: str, kind: str) -> ComplaintReturn | None:
    """Return the latest kept return of ``kind`` for the month and scope, or None."""
    return db.session.execute(
        sa.select(ComplaintReturn)
        .where(
            ComplaintReturn.month == date(year, month, 1),
            ComplaintReturn.scope_code == scope_code,
            ComplaintReturn.kind == kind,
        )
        .order_by(ComplaintReturn.generated_at.desc(), ComplaintReturn.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def keep_reported_returns(year: int, month: int, now: datetime, *, region: bool) -> str:
    """Keep the 'as reported' return of every class 1-3 office (``region`` False) or of the
    region (``region`` True) for ``month``.

    A scope that has its reported return already keeps it: what was reported stays what was
    reported, so running this again only fills in what is missing. Returns what it did.
    """
    have = set(
        db.session.execute(
            sa.select(ComplaintReturn.scope_code).where(
                ComplaintReturn.month == date(year, month, 1), ComplaintReturn.kind == "reported"
            )
        ).scalars()
    )
    if region:
        scopes = [region_scope()]
    else:
        offices = db.session.execute(
            sa.select(Office)
            .where(Office.office_class.in_(MANAGED_OFFICE_CLASSES))
            .order_by(Office.code)
        ).scalars()
        scopes = [scope_of_office(office) for office in offices]
    # One return per office: each is two grouped queries over that office's complaints of
    # the month (the region's dozen offices, once a month).
    wanted = [scope for scope in scopes if scope.code not in have]
    for scope in wanted:
        keep_return(build_return(year, month, scope), "reported", now)
    which = "region" if region else "office"
    return (
        f"kept {len(wanted)} reported {which} complaint returns of {month_key(year, month)} "
        f"({len(scopes) - len(wanted)} were kept already)"
    )


# --- differences ------------------------------------------------------------------------------

_CELL_FIGURES = ("received", "excluded", "met", "missed", "pending", "pct")


def figures(data: dict) -> dict:
    """Flatten a return's numbers into ``{name: value}``, e.g. ``2.1a.METER_BILLING.met``,
    ``2.1b.pct`` or ``group.STAR.missed`` (``group.none``: not a key account)."""
    flat = {name: data[name] for name in ("received", "closed", "open_at_month_end")}
    for row in data["rows"]:
        key = row["item"] if row["item"] != "2.1a" else f"2.1a.{row['category'] or 'total'}"
        for name in _CELL_FIGURES:
            flat[f"{key}.{name}"] = row["month"][name]
    for group in data["customer_groups"]:
        for name in _CELL_FIGURES:
            flat[f"group.{group['tier'] or 'none'}.{name}"] = group["month"][name]
    return flat


def compare(kept: dict, current: dict, reported_at: datetime, scope: Scope) -> dict:
    """Return what differs between a kept return and the current one: each figure that
    moved, and the complaints of the month changed since the kept copy was made."""
    old, new = figures(kept), figures(current)
    moved = [
        {"figure": name, "reported": old.get(name), "now": new.get(name)}
        for name in dict.fromkeys([*old, *new])
        if old.get(name) != new.get(name)
    ]
    return {"figures": moved, "complaints": changed_complaints(kept["month"], scope, reported_at)}


def changed_complaints(month: str, scope: Scope, since: datetime) -> list[dict]:
    """Return the complaints in ``scope`` that count in the month's return now (received in
    the month, or closed in it as of its last day) and were changed after ``since``."""
    year, number = parse_month(month)
    start, end = date(year, number, 1), month_end(year, number)
    first_instant = datetime.combine(start, datetime.min.time(), BANGKOK)
    rows = db.session.execute(
        sa.select(
            Complaint.ref,
            Office.code,
            Complaint.category,
            Complaint.urgent,
            Complaint.received_at,
            Complaint.closed_at,
            Complaint.excluded,
            Complaint.updated_at,
        )
        .join(Office, Office.id == Complaint.office_id)
        .where(
            scope.covers(Complaint.office_id),
            Complaint.updated_at > since,
            sa.or_(
                Complaint.received_on.between(start, end),
                sa.and_(closed_by(end), Complaint.closed_at >= first_instant),
            ),
        )
        .order_by(Complaint.received_at, Complaint.ref)
    ).all()
    return [
        {
            "ref": row.ref,
            "office": row.code,
            "category": row.category,
            "urgent": row.urgent,
            "received_at": row.received_at.isoformat(),
            "closed_at": row.closed_at.isoformat() if row.closed_at else None,
            "excluded": row.excluded,
            "updated_at": row.updated_at.isoformat(),
        }
        for row in rows
    ]


# --- the entry point for the CLI, the API and pages -------------------------------------------


def complaint_return_report(
    month: str,
    scope: Scope,
    now: datetime,
    *,
    as_reported: bool = False,
    keep: bool = False,
    actor=None,
) -> dict:
    """Return the complaint return of ``month`` (``YYYY-MM``) within ``scope``.

    As of now by default (kept as an ``on_demand`` copy when ``keep``); with ``as_reported``
    the copy the job kept on the due day, ``NotReportedYet`` if there is none yet. Either
    way ``changes`` compares the reported copy with now (None while nothing was reported).
    """
    year, number = parse_month(month)
    reported = kept_return(year, number, scope.code, "reported")
    if as_reported and reported is None:
        raise NotReportedYet(
            Message(
                "no complaint return of %(month)s for %(scope)s was reported yet (it is kept on its due day, %(due)s)",
                month=month_key(year, number),
                scope=scope.code,
                due=due_on(year, number, region=scope.is_region),
            )
        )
    current = build_return(year, number, scope)
    if as_reported:
        shown, kind, generated_at = reported.data, "reported", reported.generated_at
    else:
        shown, kind, generated_at = current, "on_demand", now
        if keep:
            keep_return(current, "on_demand", now, actor)
    view = dict(shown)
    view["kind"] = kind
    view["generated_at"] = generated_at.isoformat()
    view["reported_at"] = reported.generated_at.isoformat() if reported else None
    view["changes"] = (
        compare(reported.data, current, reported.generated_at, scope) if reported else None
    )
    return view


def complaint_return_for(
    user, month: str, office_code: str | None, now: datetime, **options
) -> dict:
    """Return ``complaint_return_report`` within the scope ``user`` may see (an office in it,
    or all of it). An office outside the user's scope is ``NotFound``: out of sight."""
    return complaint_return_report(month, scope_for(user, office_code), now, actor=user, **options)
