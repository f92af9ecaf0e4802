"""Scope: the region, or one office together with its branches (SPEC sections 1 and 5).

Every figure, list and export is computed over a scope. ``scope_for_user`` gives the
widest scope a person may see; narrower scopes are chosen inside it.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from kamcrm.extensions import db
from kamcrm.org.models import REGION_ROLES, Office, User


class UnknownOffice(LookupError):
    """No office has the given code."""


@dataclass(frozen=True)
class Scope:
    """The region (``office_id`` None) or one office with its branches."""

    #: The code reports print: the region's code, or the office's.
    code: str
    #: The office chosen, or None for the whole region.
    office_id: int | None = None
    #: The class 1-3 office that is the office-manager quota unit: the office itself,
    #: or the parent of a branch. None for the region or the regional office.
    unit_office_id: int | None = None
    #: Whether offices under ``office_id`` are in scope. False for a person attached to
    #: the regional office itself: the class 1-3 offices under it are not "its branches".
    with_children: bool = True

    @property
    def is_region(self) -> bool:
        return self.office_id is None

    @property
    def shape(self) -> str:
        """``region``, ``office`` (with its branches) or ``office_alone``: what ``covers`` tests."""
        if self.office_id is None:
            return "region"
        return "office" if self.with_children else "office_alone"

    def office_ids(self) -> sa.Select | None:
        """Return a SELECT of the ids of offices in scope, or None for the whole region."""
        return offices_of(self.shape, self.office_id)

    def covers(self, office_column) -> sa.ColumnElement[bool]:
        """Return a condition that ``office_column`` (an office id) lies in scope."""
        return covering(self.shape, office_column, self.office_id)

    def parameters(self) -> dict:
        """The values for a statement built once with ``covering(shape, column, SCOPE_OFFICE)``."""
        return {} if self.office_id is None else {SCOPE_OFFICE.key: self.office_id}

    def resolved(self) -> Scope:
        """This scope with its offices looked up now, for a report of many statements.

        ``covers`` is then a list of ids (``office_id IN (2, 14)``), which both planners
        estimate from the index statistics; the subquery made PostgreSQL hash every account
        of the region before reading an office's few thousand (bench/cr2_bench.py). The
        region is returned as it is.
        """
        if self.office_id is None:
            return self
        ids = tuple(db.session.execute(self.office_ids()).scalars())
        return ResolvedScope(
            self.code, self.office_id, self.unit_office_id, self.with_children, ids
        )


@dataclass(frozen=True)
class ResolvedScope(Scope):
    """A scope whose offices were looked up once (``Scope.resolved``)."""

    ids: tuple[int, ...] = ()

    def covers(self, office_column) -> sa.ColumnElement[bool]:
        return office_column.in_(self.ids)

    def resolved(self) -> Scope:
        return self


#: The office of a scope as a bound parameter, for statements built once per shape.
SCOPE_OFFICE = sa.bindparam("scope_office_id", type_=sa.Integer)


def offices_of(shape: str, office_id) -> sa.Select | None:
    """A SELECT of the ids of the offices a scope of ``shape`` holds (None: the region).

    ``office_id`` is the scope's office, as a value or as ``SCOPE_OFFICE``.
    """
    if shape == "region":
        return None
    if shape == "office_alone":
        return sa.select(Office.id).where(Office.id == office_id)
    return sa.select(Office.id).where(sa.or_(Office.id == office_id, Office.parent_id == office_id))


def covering(shape: str, office_column, office_id) -> sa.ColumnElement[bool]:
    """A condition that ``office_column`` lies in a scope of ``shape`` (see ``offices_of``)."""
    ids = offices_of(shape, office_id)
    return sa.true() if ids is None else office_column.in_(ids)


SHAPES = ("region", "office", "office_alone")


def region_office() -> Office | None:
    """Return the regional office (the one office of class ``region``)."""
    return db.session.execute(
        sa.select(Office).where(Office.office_class == "region").order_by(Office.id).limit(1)
    ).scalar_one_or_none()


def region_scope() -> Scope:
    """Return the scope of the whole region."""
    region = region_office()
    return Scope(code=region.code if region else "REGION")


def scope_of_office(office: Office) -> Scope:
    """Return the scope of ``office`` with its branches; the regional office means the region."""
    if office.office_class == "region":
        return Scope(code=office.code)
    if office.office_class == "branch":
        return Scope(code=office.code, office_id=office.id, unit_office_id=office.parent_id)
    return Scope(code=office.code, office_id=office.id, unit_office_id=office.id)


def office_scope(code: str) -> Scope:
    """Return the scope of the office with ``code``; raise ``UnknownOffice`` if none."""
    office = db.session.execute(sa.select(Office).where(Office.code == code)).scalar_one_or_none()
    if office is None:
        raise UnknownOffice(f"no office has the code {code!r}")
    return scope_of_office(office)


def scope_for_user(user: User) -> Scope:
    """Return the widest scope ``user`` may see: the region, or their office and its branches.

    A KAMR or office manager attached to a branch sees that branch; one attached to the
    regional office itself sees only accounts held at the regional office.
    """
    if user.role in REGION_ROLES:
        return region_scope()
    office = user.office
    if office.office_class == "region":
        return Scope(code=office.code, office_id=office.id, with_children=False)
    return scope_of_office(office)


def narrower_scope(user: User, code: str | None) -> Scope:
    """Return the scope named by ``code`` if ``user`` may see it, else raise ``UnknownOffice``.

    An office outside the user's scope is reported as unknown: out of scope is out of sight.
    """
    widest = scope_for_user(user)
    if code is None or code == widest.code:
        return widest
    requested = office_scope(code)
    if widest.is_region:
        return requested
    inside = db.session.execute(
        sa.select(sa.literal(True)).where(sa.and_(widest.covers(sa.literal(requested.office_id))))
    ).scalar()
    if requested.office_id is None or not inside:
        raise UnknownOffice(f"no office has the code {code!r}")
    return requested
