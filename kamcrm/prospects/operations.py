"""The prospects domain's actions: storing consumption months, a year's list settings,
generating a numbered snapshot of the lists, and planning its business visits.

Each action checks the actor's permission (``kamcrm.org.access``), records in the audit
log and flushes; the caller commits.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa

from kamcrm.accounts.models import Account
from kamcrm.activities import operations as activity_ops
from kamcrm.activities.models import Activity
from kamcrm.audit.operations import record
from kamcrm.db import utcnow
from kamcrm.errors import Message, ValidationFailed
from kamcrm.extensions import db
from kamcrm.org.access import require
from kamcrm.org.models import User
from kamcrm.org.operations import integrity_guard
from kamcrm.periods import FIRST_YEAR, LAST_YEAR, bangkok_date, bangkok_today
from kamcrm.prospects import queries
from kamcrm.prospects.models import LISTS, ProspectMember, ProspectSettings, ProspectSnapshot

Errors = dict[str, list[str]]

#: The consumption file's columns (SPEC section 10) and the required ones.
CONSUMPTION_FIELDS = ("account_no", "month", "kwh", "peak_kw", "peak_kva", "revenue_thb")
CONSUMPTION_REQUIRED = ("account_no", "month", "kwh")

# Upper bounds of one account's month: above them a figure is a typing or unit error (Wh
# for kWh, W for kW), not a customer. A PEA distribution customer is supplied at up to
# 115 kV; the largest take a few hundred MW, so 500 MW (MVA) of peak demand, the energy of
# 500 MW for a whole month (372 GWh, rounded down to 350,000,000 kWh) and 10 billion THB of
# revenue are beyond any real account.
MAX_KWH = 350_000_000
MAX_KW = 500_000
MAX_KVA = 500_000
MAX_REVENUE_THB = 10_000_000_000

_MONTH = re.compile(r"(\d{4})-(\d{2})\Z")


def _amount(
    raw: Mapping[str, object], name: str, maximum: float, errors: Errors, required: bool = False
) -> float | None:
    """Return the number in ``name`` (≥ 0, ≤ ``maximum``) rounded to 2 places; None when blank.

    Floats, not Decimals: the import reads millions of them, and every figure fits a
    double's 15 digits exactly at two places. Thousands separators are accepted.
    """
    value = raw.get(name)
    if value == "":
        value = None
    elif value.__class__ is str:
        try:
            number = float(value)  # the common case: plain digits (float() ignores blanks around)
        except ValueError:
            text = value.strip()
            if not text:
                value = None
            else:
                try:
                    number = float(text.replace(",", ""))
                except ValueError:
                    errors.setdefault(name, []).append(
                        Message("%(value)s is not a number", value=text[:40])
                    )
                    return None
        else:
            if 0 <= number <= maximum:  # finite and in range; more than 2 places is rounded
                dot = value.rfind(".")
                return number if dot < 0 or len(value.rstrip()) - dot <= 3 else round(number, 2)
    if value is None:
        if required:
            errors.setdefault(name, []).append(Message("is required"))
        return None
    if value.__class__ is not str:
        if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
            errors.setdefault(name, []).append(
                Message("%(value)s is not a number", value=str(value)[:40])
            )
            return None
        number = float(value)
    if math.isnan(number) or math.isinf(number):
        errors.setdefault(name, []).append(
            Message("%(value)s is not a number", value=str(value)[:40])
        )
        return None
    if number < 0:
        errors.setdefault(name, []).append(Message("%(value)s is negative", value=str(value)[:40]))
        return None
    if number > maximum:
        errors.setdefault(name, []).append(
            Message(
                "%(value)s is beyond any real account (at most %(maximum)s)",
                value=str(value)[:40],
                maximum=f"{maximum:,}",
            )
        )
        return None
    return round(number, 2)


def parse_month(value: object, errors: Errors, today: date) -> date | None:
    """Return the first day of the month ``YYYY-MM`` in ``value``; a bad or future month is an error."""
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        year, month = value.year, value.month
    else:
        text = value.strip() if isinstance(value, str) else ""
        match = _MONTH.match(text)
        if not text:
            errors.setdefault("month", []).append(Message("is required"))
            return None
        if match is None:
            errors.setdefault("month", []).append(
                Message(
                    "%(value)s is not a month; write YYYY-MM, e.g. 2025-01", value=str(value)[:40]
                )
            )
            return None
        year, month = int(match.group(1)), int(match.group(2))
        if not 1 <= month <= 12:
            errors.setdefault("month", []).append(
                Message("%(value)s is not a month; write YYYY-MM, e.g. 2025-01", value=text)
            )
            return None
    if not FIRST_YEAR <= year <= LAST_YEAR:
        errors.setdefault("month", []).append(
            Message(
                "%(value)s is not between %(first)s and %(last)s",
                value=f"{year:04d}-{month:02d}",
                first=FIRST_YEAR,
                last=LAST_YEAR,
            )
        )
        return None
    if (year, month) > (today.year, today.month):
        errors.setdefault("month", []).append(
            Message(
                "%(value)s has not been billed yet (today is %(today)s)",
                value=f"{year:04d}-{month:02d}",
                today=today.isoformat(),
            )
        )
        return None
    return date(year, month, 1)


class ConsumptionRowChecker:
    """Check consumption rows against the account numbers and the day given, once loaded.

    A file repeats a few dozen month texts millions of times: each good one is parsed once
    (``months``). Call it with a row; it returns ((account_id, month, kwh, peak_kw, peak_kva,
    revenue_thb) or None, errors).
    """

    def __init__(self, account_ids: Mapping[str, int], today: date):
        self.account_ids = account_ids
        self.today = today
        self.months: dict[str, date] = {}

    def __call__(self, raw: Mapping[str, object]) -> tuple[tuple | None, Errors]:
        errors: Errors = {}
        number = raw.get("account_no")
        account_id = self.account_ids.get(number) if number.__class__ is str else None
        if account_id is None:
            number = (
                number.strip()
                if isinstance(number, str)
                else ("" if number is None else str(number))
            )
            if not number:
                errors["account_no"] = [Message("is required")]
            else:
                account_id = self.account_ids.get(number)
                if account_id is None:
                    errors["account_no"] = [
                        Message("unknown account '%(account_no)s'", account_no=number[:40])
                    ]
        text = raw.get("month")
        month = self.months.get(text) if text.__class__ is str else None
        if month is None:
            month = parse_month(text, errors, self.today)
            if month is not None and text.__class__ is str and len(self.months) < 10_000:
                self.months[text] = month
        kwh = _amount(raw, "kwh", MAX_KWH, errors, required=True)
        peak_kw = _amount(raw, "peak_kw", MAX_KW, errors)
        peak_kva = _amount(raw, "peak_kva", MAX_KVA, errors)
        revenue = _amount(raw, "revenue_thb", MAX_REVENUE_THB, errors)
        if errors:
            return None, errors
        return (account_id, month, kwh, peak_kw, peak_kva, revenue), errors


def validate_consumption_row(
    raw: Mapping[str, object], account_ids: Mapping[str, int], *, today: date
) -> tuple[tuple | None, Errors]:
    """Check one consumption row; return ((account_id, month, kwh, peak_kw, peak_kva,
    revenue_thb) or None, errors). ``account_ids`` maps account numbers to ids (loaded once)."""
    return ConsumptionRowChecker(account_ids, today)(raw)


_COLUMNS = ("account_id", "month", "kwh", "peak_kw", "peak_kva", "revenue_thb")
_UPSERT_SQLITE = (
    "INSERT INTO consumption (account_id, month, kwh, peak_kw, peak_kva, revenue_thb) VALUES (?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (account_id, month) DO UPDATE SET kwh = excluded.kwh, peak_kw = excluded.peak_kw, "
    "peak_kva = excluded.peak_kva, revenue_thb = excluded.revenue_thb"
)


class ConsumptionWriter:
    """Store checked consumption months in chunks: a month already held for an account is
    replaced (SPEC section 10). SQLite upserts with one prepared statement; PostgreSQL
    COPYs each chunk into a temporary table and upserts from it."""

    def __init__(self, actor=None):
        require(actor, "consumption.import")
        self.connection = db.session.connection()
        self.dialect = self.connection.dialect.name
        self.staged = False
        self.written = 0
        self.rows_before = self._count()

    def _count(self) -> int:
        return self.connection.exec_driver_sql("SELECT count(*) FROM consumption").scalar()

    def write(self, rows: list[tuple]) -> None:
        """Store ``rows`` (tuples of ``validate_consumption_row``)."""
        if not rows:
            return
        if self.dialect == "sqlite":
            self.connection.exec_driver_sql(_UPSERT_SQLITE, rows)
        elif self.dialect == "postgresql":
            self._write_postgresql(rows)
        else:  # any other database: the portable way, row by row
            table = sa.table("consumption", *(sa.column(name) for name in _COLUMNS))
            for row in rows:
                values = dict(zip(_COLUMNS, row))
                db.session.execute(
                    sa.delete(table).where(
                        table.c.account_id == values["account_id"], table.c.month == values["month"]
                    )
                )
                db.session.execute(sa.insert(table).values(**values))
        self.written += len(rows)

    def _write_postgresql(self, rows: list[tuple]) -> None:
        connection = self.connection
        if not self.staged:
            connection.exec_driver_sql(
                "CREATE TEMPORARY TABLE consumption_staged (LIKE consumption INCLUDING DEFAULTS) ON COMMIT DROP"
            )
            self.staged = True
        driver = connection.connection.driver_connection
        with driver.cursor() as cursor:
            with cursor.copy(f"COPY consumption_staged ({', '.join(_COLUMNS)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        connection.exec_driver_sql(
            f"INSERT INTO consumption ({', '.join(_COLUMNS)}) SELECT {', '.join(_COLUMNS)} FROM consumption_staged "
            "ON CONFLICT (account_id, month) DO UPDATE SET kwh = excluded.kwh, peak_kw = excluded.peak_kw, "
            "peak_kva = excluded.peak_kva, revenue_thb = excluded.revenue_thb"
        )
        connection.exec_driver_sql("TRUNCATE consumption_staged")

    def finish(self) -> tuple[int, int]:
        """Return (months added, months replaced)."""
        if self.staged:
            self.connection.exec_driver_sql("DROP TABLE consumption_staged")
            self.staged = False
        added = self._count() - self.rows_before
        return added, self.written - added


# --- the year's settings ---------------------------------------------------------------------

#: The bounds of each setting (inclusive), as the targets page and the API check them.
SETTING_BOUNDS = {
    "hv1_growth_pct": (Decimal("-100"), Decimal("10000")),
    "hv1_utilisation_pct": (Decimal("0"), Decimal("1000")),
    "hv2_utilisation_pct": (Decimal("0"), Decimal("1000")),
    "mt2_transformer_kva": (Decimal("0"), Decimal("1000000")),
    "power_factor": (Decimal("0.001"), Decimal("1")),
}


def save_settings(year: int, changes: Mapping[str, object], actor=None) -> ProspectSettings:
    """Set year ``year``'s list thresholds and power factor (the others keep their values).

    The first change stores the year's row (from the defaults). Audited with before and after.
    """
    require(actor, "targets.edit")
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValidationFailed(
            {
                "year": [
                    Message(
                        "%(value)s is not between %(first)s and %(last)s",
                        value=year,
                        first=FIRST_YEAR,
                        last=LAST_YEAR,
                    )
                ]
            }
        )
    errors: Errors = {}
    for name in changes:
        if name not in SETTING_BOUNDS:
            errors.setdefault(name, []).append(
                Message(
                    "unknown field; the settings are %(names)s", names=", ".join(SETTING_BOUNDS)
                )
            )
    current = queries.settings_for(year)
    values = current.as_dict()
    for name, value in changes.items():
        if name not in SETTING_BOUNDS:
            continue
        try:
            number = Decimal(str(value).strip().replace(",", ""))
        except (InvalidOperation, ValueError):
            errors.setdefault(name, []).append(
                Message("%(value)s is not a number", value=str(value)[:40])
            )
            continue
        low, high = SETTING_BOUNDS[name]
        if not number.is_finite() or not low <= number <= high:
            errors.setdefault(name, []).append(
                Message(
                    "%(value)s is not between %(low)s and %(high)s",
                    value=str(value)[:40],
                    low=low,
                    high=high,
                )
            )
            continue
        places = Decimal("0.001") if name == "power_factor" else Decimal("0.01")
        values[name] = str(number.quantize(places, rounding="ROUND_HALF_UP"))
    if errors:
        raise ValidationFailed(errors)
    before = current.as_dict()
    row = db.session.get(ProspectSettings, year)
    if row is None:
        row = ProspectSettings(year=year)
        db.session.add(row)
    for name, value in values.items():
        setattr(row, name, Decimal(value))
    row.updated_by_id = getattr(actor, "id", None)
    db.session.flush()
    changed = {name for name in values if Decimal(values[name]) != Decimal(before[name])}
    if changed or not current.stored:
        record(
            "update",
            "prospect_settings",
            year,
            actor=actor,
            before={name: before[name] for name in changed},
            after={name: values[name] for name in changed},
        )
    return row


# --- snapshots -------------------------------------------------------------------------------


def generate_snapshot(year: int, actor=None, *, now: datetime | None = None) -> ProspectSnapshot:
    """Compute plan year ``year``'s lists and keep them as the year's next numbered version.

    A member keeps the day it was first listed while it stays on the same list from one
    version to the next (its visit counts from then); a newcomer is listed today.
    """
    require(actor, "prospects.generate")
    if not FIRST_YEAR + 2 <= year <= LAST_YEAR:
        raise ValidationFailed(
            {
                "year": [
                    Message(
                        "%(value)s is not between %(first)s and %(last)s",
                        value=year,
                        first=FIRST_YEAR + 2,
                        last=LAST_YEAR,
                    )
                ]
            }
        )
    now = now or utcnow()
    today = bangkok_date(now)
    settings = queries.settings_for(year)
    members, maintenance = queries.list_rows(year, settings)
    previous = queries.latest_snapshot(year)
    listed_before = {}
    if previous is not None:
        listed_before = {
            (code, account): day
            for code, account, day in db.session.execute(
                sa.select(
                    ProspectMember.list_code, ProspectMember.account_id, ProspectMember.listed_on
                ).where(ProspectMember.snapshot_id == previous.id)
            )
        }
    version = (
        db.session.scalar(
            sa.select(sa.func.max(ProspectSnapshot.version)).where(ProspectSnapshot.year == year)
        )
        or 0
    ) + 1
    snapshot = ProspectSnapshot(
        year=year,
        version=version,
        generated_at=now,
        generated_on=today,
        generated_by_id=getattr(actor, "id", None),
        settings=settings.as_dict(),
        maintenance_available=maintenance,
    )
    with integrity_guard(
        Message(
            "Another version of the %(year)s lists was generated at the same time; generate again.",
            year=year,
        )
    ):
        db.session.add(snapshot)
    rows = [
        {
            "snapshot_id": snapshot.id,
            "list_code": m["list_code"],
            "account_id": m["account_id"],
            "office_id": m["office_id"],
            "kamr_id": m["kamr_id"],
            "listed_on": listed_before.get((m["list_code"], m["account_id"]), today),
            "kwh_prev": queries.rounded(m["kwh_prev"]),
            "kwh_prev2": queries.rounded(m["kwh_prev2"]),
            "months_prev": m["months_prev"],
            "months_prev2": m["months_prev2"],
            "peak_kva_prev": queries.rounded(m["peak_kva_prev"]),
            "transformer_kva": m["transformer_kva"],
            "utilisation_pct": queries.rounded(m["utilisation"]),
            "growth_pct": queries.rounded(m["growth"]),
            "last_maintenance_on": m["last_maintenance_on"],
            "clause": m["clause"][:300],
        }
        for m in members
    ]
    if rows:
        db.session.execute(sa.insert(ProspectMember), rows)
    counts = {code: sum(1 for m in members if m["list_code"] == code) for code in LISTS}
    record(
        "create",
        "prospect_snapshots",
        f"{year}v{version}",
        actor=actor,
        after={
            "year": year,
            "version": version,
            "settings": settings.as_dict(),
            "members": counts,
            "maintenance_available": maintenance,
        },
    )
    return snapshot


# --- visits ----------------------------------------------------------------------------------


def plan_visits(
    snapshot: ProspectSnapshot,
    actor=None,
    *,
    planned_on: date | None = None,
    now: datetime | None = None,
) -> dict:
    """Plan one BIZ visit for each account on ``snapshot``'s lists (High Value and
    Maintenance), for the account's KAMR, through the activities' own ``create_activity``.

    An account that already has a planned or done BIZ visit dated in the snapshot's year is
    skipped (running this twice plans nothing new), as is one without a KAMR or not open on
    the planned day. ``planned_on`` defaults to today, kept within the lists' year. Return the counts and the
    account numbers skipped for want of a KAMR.
    """
    require(actor, "prospects.plan_visits")
    now = now or utcnow()
    year = snapshot.year
    if planned_on is None:
        planned_on = min(max(bangkok_today(now), date(year, 1, 1)), date(year, 12, 31))
    if planned_on.year != year:
        raise ValidationFailed(
            {
                "planned_on": [
                    Message("%(day)s is not in the lists' year %(year)s", day=planned_on, year=year)
                ]
            }
        )
    already = sa.exists().where(
        Activity.account_id == ProspectMember.account_id,
        Activity.type == "BIZ",
        Activity.status.in_(("planned", "done")),
        Activity.activity_date >= date(year, 1, 1),
        Activity.activity_date <= date(year, 12, 31),
    )
    statement = (
        sa.select(Account, User.username, sa.func.min(ProspectMember.list_code))
        .join(ProspectMember, ProspectMember.account_id == Account.id)
        .outerjoin(User, User.id == Account.kamr_id)
        .where(
            ProspectMember.snapshot_id == snapshot.id,
            ProspectMember.list_code != "INCOMPLETE",
            ~already,
            # a visit is planned only within the account's life
            sa.or_(Account.opened_on.is_(None), Account.opened_on <= planned_on),
            sa.or_(Account.closed_on.is_(None), Account.closed_on >= planned_on),
        )
        .group_by(Account.id, User.username)
        .order_by(Account.account_no)
    )
    lists_of: dict[int, list[str]] = {}
    for account_id, code in db.session.execute(
        sa.select(ProspectMember.account_id, ProspectMember.list_code)
        .where(ProspectMember.snapshot_id == snapshot.id, ProspectMember.list_code != "INCOMPLETE")
        .order_by(ProspectMember.list_code)
    ):
        lists_of.setdefault(account_id, []).append(code)
    planned, no_kamr = [], []
    for account, username, _ in db.session.execute(statement).all():
        if username is None:
            no_kamr.append(account.account_no)
            continue
        activity = activity_ops.create_activity(
            {
                "account_no": account.account_no,
                "type": "BIZ",
                "status": "planned",
                "channel": "visit",
                "activity_date": planned_on.isoformat(),
                "performed_by": username,
                "summary": f"Prospect lists {year} v{snapshot.version}: {', '.join(lists_of.get(account.id, []))}",
            },
            actor,
            now=now,
            account=account,
        )
        planned.append(activity.id)
    listed = len(lists_of)
    result = {
        "year": year,
        "version": snapshot.version,
        "listed_accounts": listed,
        "planned": len(planned),
        "skipped": listed - len(planned) - len(no_kamr),
        "without_kamr": no_kamr,
    }
    record("create", "prospect_visits", f"{year}v{snapshot.version}", actor=actor, after=result)
    return result
