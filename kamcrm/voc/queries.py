"""The VOC register: one read over every place a customer's voice is recorded, and the
CR1 3.4 counts (SPEC section 9).

**The register is a UNION ALL of one SELECT per source**, each giving the same columns
(``ENTRY_COLUMNS``): ``source``, ``source_id``, ``day`` (Bangkok date), ``kind``,
``category``, ``text``, ``office_id`` (the handling office), ``account_id``, ``kamr_id``
(who heard it: the activity's performer, or the account's KAMR), ``account_kamr_id`` and
``source_ref`` (the source's own number where it has one: a complaint's ref).
The marks (``voc_marks``: significance, VOC-system reference, the complaint it became) are
joined on (source, source_id). Filters on the sources' own columns are put into every
branch, so each database reads only the rows that can match (and a kind filter drops the
branches that cannot hold that kind).

The sources are done activities with a voice, complaints, and survey answers with a comment.
To add a source: write one function returning a SELECT
of ``ENTRY_COLUMNS`` under the branch filters (see ``_activity_branch``) and add it to
``BRANCHES``; its source name is already one of ``models.SOURCES``.

Scope: out of scope is out of sight. A KAMR sees the voices on their own accounts and the
ones they heard themselves; an office manager their office and its branches; everyone else
the region.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from kamcrm.accounts.models import Account
from kamcrm.activities.models import Activity
from kamcrm.complaints.models import Complaint
from kamcrm.errors import Forbidden, Message, NotFound
from kamcrm.extensions import db
from kamcrm.org.access import can, scope_of
from kamcrm.org.models import Office, User
from kamcrm.org.scope import Scope
from kamcrm.periods import quarter_window
from kamcrm.surveys.models import ServiceJob, SurveyAnswer
from kamcrm.voc.models import KEY_PREFIXES, VocMark

#: The columns every source's SELECT gives, in this order.
ENTRY_COLUMNS = (
    "source",
    "source_id",
    "day",
    "kind",
    "category",
    "text",
    "office_id",
    "account_id",
    "kamr_id",
    "account_kamr_id",
    "source_ref",
)

_PREFIX_SOURCES = {prefix: source for source, prefix in KEY_PREFIXES.items()}


@dataclass(frozen=True)
class Filters:
    """The register's filters (pages, API and export share them). None: not filtered."""

    kind: str | None = None
    category: str | None = None
    #: An office with its branches (or the region).
    office_scope: Scope | None = None
    kamr_id: int | None = None
    significant: bool | None = None
    #: Entered in PEA's VOC system (has a reference).
    entered: bool | None = None
    day_from: date | None = None
    day_to: date | None = None
    source: str | None = None
    source_id: int | None = None


def parse_key(key: str) -> tuple[str, int]:
    """Return (source, source_id) of an entry key such as ``A12``; raise ``NotFound`` if it is none."""
    text = (key or "").strip().upper()
    source = _PREFIX_SOURCES.get(text[:1])
    number = text[1:]
    if source is None or not number.isdigit() or len(number) > 12 or int(number) > 2**31 - 1:
        raise NotFound(Message("No VOC entry has the key %(key)r.", key=key))
    return source, int(number)


def entry_key(source: str, source_id: int) -> str:
    """Return the key pages, files and the API name an entry by (``A12``)."""
    return f"{KEY_PREFIXES[source]}{source_id}"


def _literal(text: str) -> sa.ColumnElement:
    # A typed literal, not a bound parameter: PostgreSQL must know a UNION column's type.
    return sa.literal_column(f"'{text}'", sa.String)


def _branch_conditions(filters: Filters, *, day, kind, category, office_id) -> list | None:
    """The filters that a source's own columns answer; None when the branch cannot match."""
    conditions = []
    if filters.kind is not None:
        if isinstance(kind, str):
            if kind != filters.kind:
                return None
        else:
            conditions.append(kind == filters.kind)
    if filters.category is not None:
        conditions.append(category == filters.category)
    if filters.office_scope is not None and not filters.office_scope.is_region:
        conditions.append(filters.office_scope.covers(office_id))
    if filters.day_from is not None:
        conditions.append(day >= filters.day_from)
    if filters.day_to is not None:
        conditions.append(day <= filters.day_to)
    return conditions


def _activity_branch(filters: Filters, viewer_conditions: Callable) -> sa.Select | None:
    """The voices recorded on done activities (the activity's date, its account's office)."""
    conditions = _branch_conditions(
        filters,
        day=Activity.activity_date,
        kind=Activity.voc_kind,
        category=Activity.voc_category,
        office_id=Account.office_id,
    )
    if conditions is None:
        return None
    if filters.kamr_id is not None:
        conditions.append(Activity.performed_by_id == filters.kamr_id)
    if filters.source_id is not None:
        conditions.append(Activity.id == filters.source_id)
    return (
        sa.select(
            _literal("activity").label("source"),
            Activity.id.label("source_id"),
            Activity.activity_date.label("day"),
            Activity.voc_kind.label("kind"),
            Activity.voc_category.label("category"),
            Activity.voc_text.label("text"),
            Account.office_id.label("office_id"),
            Activity.account_id.label("account_id"),
            Activity.performed_by_id.label("kamr_id"),
            Account.kamr_id.label("account_kamr_id"),
            sa.cast(sa.null(), sa.String).label("source_ref"),
        )
        .join(Account, Account.id == Activity.account_id)
        .where(
            Activity.voc_kind.is_not(None),
            Activity.status == "done",
            *conditions,
            *viewer_conditions(Account.office_id, Activity.performed_by_id, Account.kamr_id),
        )
    )


def _complaint_branch(filters: Filters, viewer_conditions: Callable) -> sa.Select | None:
    """Complaints: kind complaint, dated the day received, handled by their office."""
    conditions = _branch_conditions(
        filters,
        day=Complaint.received_on,
        kind="complaint",
        category=Complaint.category,
        office_id=Complaint.office_id,
    )
    if conditions is None:
        return None
    if filters.kamr_id is not None:
        conditions.append(Account.kamr_id == filters.kamr_id)
    if filters.source_id is not None:
        conditions.append(Complaint.id == filters.source_id)
    return (
        sa.select(
            _literal("complaint").label("source"),
            Complaint.id.label("source_id"),
            Complaint.received_on.label("day"),
            _literal("complaint").label("kind"),
            Complaint.category.label("category"),
            Complaint.summary.label("text"),
            Complaint.office_id.label("office_id"),
            Complaint.account_id.label("account_id"),
            Account.kamr_id.label("kamr_id"),
            Account.kamr_id.label("account_kamr_id"),
            Complaint.ref.label("source_ref"),
        )
        .outerjoin(Account, Account.id == Complaint.account_id)
        .where(
            *conditions, *viewer_conditions(Complaint.office_id, Account.kamr_id, Account.kamr_id)
        )
    )


def _survey_branch(filters: Filters, viewer_conditions: Callable) -> sa.Select | None:
    """Survey answers that carry a comment: feedback, dated the day answered, handled by the
    service job's office; on a key account when the job names one."""
    conditions = _branch_conditions(
        filters,
        day=SurveyAnswer.answered_on,
        kind="feedback",
        category=sa.cast(sa.null(), sa.String),
        office_id=ServiceJob.office_id,
    )
    if conditions is None or filters.category is not None:
        return None  # a survey comment has no category
    if filters.kamr_id is not None:
        conditions.append(Account.kamr_id == filters.kamr_id)
    if filters.source_id is not None:
        conditions.append(SurveyAnswer.id == filters.source_id)
    return (
        sa.select(
            _literal("survey").label("source"),
            SurveyAnswer.id.label("source_id"),
            SurveyAnswer.answered_on.label("day"),
            _literal("feedback").label("kind"),
            sa.cast(sa.null(), sa.String).label("category"),
            SurveyAnswer.comment.label("text"),
            ServiceJob.office_id.label("office_id"),
            ServiceJob.account_id.label("account_id"),
            Account.kamr_id.label("kamr_id"),
            Account.kamr_id.label("account_kamr_id"),
            ServiceJob.ref.label("source_ref"),
        )
        .join(ServiceJob, ServiceJob.id == SurveyAnswer.job_id)
        .outerjoin(Account, Account.id == ServiceJob.account_id)
        .where(
            SurveyAnswer.comment.is_not(None),
            SurveyAnswer.comment != "",
            *conditions,
            *viewer_conditions(ServiceJob.office_id, Account.kamr_id, Account.kamr_id),
        )
    )


#: One SELECT per source, in the register's order (see the module's docstring).
BRANCHES: dict[str, Callable[[Filters, Callable], sa.Select | None]] = {
    "activity": _activity_branch,
    "complaint": _complaint_branch,
    "survey": _survey_branch,
}


def _viewer(user, scope: Scope | None = None) -> Callable:
    """Return the conditions a branch adds so that ``user`` (or ``scope``) sees only its own."""
    if scope is None:
        scope = scope_of(user)
    kamr = user is not None and user.role == "kamr"

    def conditions(office_id, heard_by, account_kamr) -> list:
        found = []
        if scope is not None and not scope.is_region:
            found.append(scope.covers(office_id))
        if kamr:
            found.append(sa.or_(heard_by == user.id, account_kamr == user.id))
        return found

    return conditions


def entries(
    user, filters: Filters = Filters(), *, scope: Scope | None = None
) -> sa.Subquery | None:
    """Return the UNION ALL of the sources ``user`` sees under ``filters`` (None: no source can match)."""
    viewer = _viewer(user, scope)
    selects = [
        branch(filters, viewer)
        for source, branch in BRANCHES.items()
        if filters.source in (None, source)
    ]
    selects = [select for select in selects if select is not None]
    if not selects:
        return None
    union = selects[0] if len(selects) == 1 else sa.union_all(*selects)
    return union.subquery("voc_entries")


def _mark_conditions(filters: Filters, mark) -> list:
    conditions = []
    if filters.significant is True:
        conditions.append(mark.significant.is_(True))
    elif filters.significant is False:
        conditions.append(sa.or_(mark.id.is_(None), mark.significant.is_(False)))
    if filters.entered is True:
        conditions.append(mark.voc_ref.is_not(None))
    elif filters.entered is False:
        conditions.append(mark.voc_ref.is_(None))
    return conditions


def register(user, filters: Filters = Filters()) -> sa.Select | None:
    """Return a SELECT of the register's rows ``user`` sees, newest first (None: nothing can
    match), with the office, account, KAMR, marks and linked complaints: one row per entry."""
    found = entries(user, filters)
    if found is None:
        return None
    mark = aliased(VocMark, name="mark")
    origin = aliased(VocMark, name="origin")
    kamr = aliased(User, name="kamr")
    turned = aliased(Complaint, name="turned")
    return (
        sa.select(
            found,
            Office.code.label("office_code"),
            Office.name.label("office_name"),
            Account.account_no.label("account_no"),
            Account.name.label("account_name"),
            kamr.username.label("kamr_username"),
            kamr.full_name.label("kamr_name"),
            sa.func.coalesce(mark.significant, sa.false()).label("significant"),
            mark.significant_at.label("significant_at"),
            mark.voc_ref.label("voc_ref"),
            mark.voc_ref_on.label("voc_ref_on"),
            turned.ref.label("complaint_ref"),
            origin.source.label("origin_source"),
            origin.source_id.label("origin_source_id"),
        )
        .join(Office, Office.id == found.c.office_id)
        .outerjoin(Account, Account.id == found.c.account_id)
        .outerjoin(kamr, kamr.id == found.c.kamr_id)
        .outerjoin(
            mark, sa.and_(mark.source == found.c.source, mark.source_id == found.c.source_id)
        )
        .outerjoin(turned, turned.id == mark.complaint_id)
        .outerjoin(
            origin, sa.and_(found.c.source == "complaint", origin.complaint_id == found.c.source_id)
        )
        .where(*_mark_conditions(filters, mark))
        .order_by(found.c.day.desc(), found.c.source, found.c.source_id.desc())
    )


@dataclass(frozen=True)
class VocEntry:
    """One row of the register, as pages, the API and the export show it."""

    source: str
    source_id: int
    day: date
    kind: str
    category: str | None
    text: str | None
    office_id: int
    office_code: str
    office_name: str
    account_id: int | None
    account_no: str | None
    account_name: str | None
    kamr_username: str | None
    kamr_name: str | None
    significant: bool
    voc_ref: str | None
    voc_ref_on: date | None
    complaint_ref: str | None
    origin_key: str | None
    source_ref: str | None = None

    @property
    def key(self) -> str:
        return entry_key(self.source, self.source_id)

    @classmethod
    def from_row(cls, row) -> VocEntry:
        origin = None
        if row.origin_source is not None:
            origin = entry_key(row.origin_source, row.origin_source_id)
        return cls(
            source=row.source,
            source_id=row.source_id,
            day=row.day,
            kind=row.kind,
            category=row.category,
            text=row.text,
            office_id=row.office_id,
            office_code=row.office_code,
            office_name=row.office_name,
            account_id=row.account_id,
            account_no=row.account_no,
            account_name=row.account_name,
            kamr_username=row.kamr_username,
            kamr_name=row.kamr_name,
            significant=bool(row.significant),
            voc_ref=row.voc_ref,
            voc_ref_on=row.voc_ref_on,
            complaint_ref=row.complaint_ref,
            origin_key=origin,
            source_ref=row.source_ref,
        )

    def as_record(self) -> dict:
        """The entry as the API and files name its fields."""
        return {
            "key": self.key,
            "source": self.source,
            "source_id": self.source_id,
            "day": self.day.isoformat(),
            "kind": self.kind,
            "category": self.category,
            "text": self.text,
            "office_code": self.office_code,
            "account_no": self.account_no,
            "kamr_username": self.kamr_username,
            "significant": self.significant,
            "voc_ref": self.voc_ref,
            "voc_ref_on": self.voc_ref_on.isoformat() if self.voc_ref_on else None,
            "complaint_ref": self.complaint_ref,
            "from_voc": self.origin_key,
            "source_ref": self.source_ref,
        }


def entry_for(user, key: str, action: str = "voc.view") -> VocEntry:
    """Return the entry ``key`` if ``user`` sees it and may do ``action`` to it (else
    ``NotFound``, or ``Forbidden`` when in sight but the role may not)."""
    source, source_id = parse_key(key)
    statement = register(user, Filters(source=source, source_id=source_id))
    row = None if statement is None else db.session.execute(statement).first()
    if row is None:
        raise NotFound(Message("No VOC entry has the key %(key)r.", key=key))
    if not can(user, action):
        raise Forbidden(Message("Your role may not do this (%(action)s).", action=action))
    return VocEntry.from_row(row)


def mark_of(source: str, source_id: int) -> VocMark | None:
    """Return the marks kept on an entry, if any."""
    return db.session.execute(
        sa.select(VocMark).where(VocMark.source == source, VocMark.source_id == source_id)
    ).scalar_one_or_none()


def origin_of_complaint(complaint_id: int) -> str | None:
    """Return the key of the VOC entry a complaint was turned from, or None."""
    mark = db.session.execute(
        sa.select(VocMark.source, VocMark.source_id).where(VocMark.complaint_id == complaint_id)
    ).first()
    return None if mark is None else entry_key(mark.source, mark.source_id)


def categories_in_use(user) -> list[str]:
    """Return the categories of the voices ``user`` sees (the filter's choices)."""
    found = entries(user)
    if found is None:
        return []
    return [
        value
        for value in db.session.execute(
            sa.select(found.c.category)
            .where(found.c.category.is_not(None))
            .distinct()
            .order_by(found.c.category)
        ).scalars()
    ]


# --- CR1 3.4 (the section contract: ARCHITECTURE.md, "The CR1 report") ----------------------

#: The column names of the cumulative figures, in order.
COLUMNS = ("Q1", "Q1-2", "Q1-3", "Q1-4")
#: English msgids (``Message`` marks them for the catalogue); the renderer translates them.
LABEL_SIGNIFICANT = Message("Significant customer voices")
LABEL_ENTERED = Message("Significant customer voices entered in PEA's VOC system")
#: The labels ``cr1_rows`` uses (msgids the renderer translates).
LABELS = (LABEL_SIGNIFICANT, LABEL_ENTERED)


def column_ends(year: int, as_of: date) -> dict[str, date | None]:
    """Return each cumulative column's last day: the end of Qk cut at ``as_of``; None when Qk
    starts after ``as_of`` (the column is null)."""
    ends = {}
    for k, name in enumerate(COLUMNS, start=1):
        window = quarter_window(year, k)
        ends[name] = None if as_of < window.start else min(window.end, as_of)
    return ends


def cr1_counts(session, *, year: int, as_of: date, scope: Scope) -> dict:
    """Return ``{(unit_office_id, column): (significant, entered)}`` for the live columns:
    significant entries in scope dated from Jan 1 to the column's end, and how many of them
    carry a VOC-system reference entered by ``as_of``. ``unit_office_id`` is the class 1-3
    office a branch rolls up to (None: an entry of the regional office itself)."""
    ends = column_ends(year, as_of)
    live = [(name, end) for name, end in ends.items() if end is not None]
    if not live:
        return {}
    found = entries(
        None, Filters(day_from=date(year, 1, 1), day_to=max(end for _, end in live)), scope=scope
    )
    bucket = sa.case(*((found.c.day <= end, i) for i, (_, end) in enumerate(live)), else_=None)
    unit = sa.case(
        (Office.office_class == "branch", Office.parent_id),
        (Office.office_class == "region", None),
        else_=Office.id,
    )
    entered = sa.and_(VocMark.voc_ref.is_not(None), VocMark.voc_ref_on <= as_of)
    statement = (
        sa.select(
            unit.label("unit"),
            bucket.label("bucket"),
            sa.func.count().label("significant"),
            sa.func.count().filter(entered).label("entered"),
        )
        .select_from(found)
        .join(
            VocMark,
            sa.and_(
                VocMark.source == found.c.source,
                VocMark.source_id == found.c.source_id,
                VocMark.significant.is_(True),
            ),
        )
        .join(Office, Office.id == found.c.office_id)
        .group_by(unit, bucket)
    )
    counts: dict = {}
    for row in session.execute(statement):
        for i, (name, _) in enumerate(live):
            if row.bucket is not None and row.bucket <= i:
                significant, done = counts.get((row.unit, name), (0, 0))
                counts[(row.unit, name)] = (significant + row.significant, done + row.entered)
    return counts


def _count_cell(value: int) -> dict:
    return {"value": value, "numerator": None, "denominator": None, "target_met": None}


def cr1_rows(session, *, year: int, as_of: date, scope: Scope) -> list[dict]:
    """Return the CR1 3.4 rows: significant VOC entries and those entered in PEA's VOC
    system, cumulative per quarter, for the scope (and, for the region, one pair of rows per
    class 1-3 office, branches rolled up). See ARCHITECTURE.md, "The CR1 report", for the shape."""
    ends = column_ends(year, as_of)
    counts = cr1_counts(session, year=year, as_of=as_of, scope=scope)
    offices = []
    if scope.is_region:
        offices = session.execute(
            sa.select(Office.id, Office.code)
            .where(Office.office_class.in_(("1", "2", "3")))
            .order_by(Office.code)
        ).all()

    def rows_for(office_code: str | None, units) -> list[dict]:
        built = []
        for position, (key, label) in enumerate(
            (("voc_significant", LABEL_SIGNIFICANT), ("voc_entered", LABEL_ENTERED))
        ):
            cumulative = {}
            for name, end in ends.items():
                if end is None:
                    cumulative[name] = None
                    continue
                cumulative[name] = _count_cell(
                    sum(counts.get((unit, name), (0, 0))[position] for unit in units)
                )
            built.append(
                {
                    "item": "3.4",
                    "key": key,
                    "label": label,
                    "unit": "count",
                    "target": None,
                    "office_code": office_code,
                    "cumulative": cumulative,
                }
            )
        return built

    every_unit = {unit for unit, _ in counts}
    rows = rows_for(None, every_unit)
    for office_id, code in offices:
        rows += rows_for(code, {office_id})
    return rows
