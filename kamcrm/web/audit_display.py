"""The audit log as the regional office reads it.

An entry keeps what the code wrote (table names, field names, JSON values); the audit page
shows it as a business change instead: the kind of record and its fields by their labels,
values the page's way (yes/no, Bangkok times with BE years on Thai pages, codes by their
names, lists joined with commas) and, for a change, only the fields that changed.
Nothing here changes what is stored or how the log is searched.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import ngettext

from kamcrm.accounts.operations import ALWAYS as ALWAYS_DAY
from kamcrm.audit.models import AuditEntry
from kamcrm.extensions import db
from kamcrm.periods import parse_quarter
from kamcrm.web import LANGUAGE_NAMES
from kamcrm.web.i18n import (
    format_day,
    format_moment,
    format_number,
    format_pct,
    format_quarter,
    format_year,
)
from kamcrm.web.labels import (
    ACTIVITY_TYPE_LABELS,
    AUDIT_ENTITY_LABELS,
    AUDIT_FIELD_LABELS,
    CHANNEL_LABELS,
    EXEC_ROLE_LABELS,
    OFFICE_CLASS_LABELS,
    PERIOD_LABELS,
    ROLE_LABELS,
    STATUS_LABELS,
    TIER_LABELS,
    VOC_KIND_LABELS,
    label,
)

#: Lines of change shown per entry; the rest are counted ("and 3 more").
MAX_LINES = 10
#: Fields that say nothing to a reader (the key already names the record, or bookkeeping).
HIDDEN_FIELDS = frozenset({"stored", "sha256"})
#: Fields that the record's key already names, left out of a new or deleted record.
KEY_FIELDS = {
    "frequency_rules": frozenset({"year", "type", "tier"}),
    "tier_assignments": frozenset({"account_no", "effective_from"}),
}
#: Fields whose value is a username, shown with the person's name.
PERSON_FIELDS = frozenset({"performed_by", "kamr_username", "assignee", "user"})
#: Fields whose value is a code with a label table.
CODE_FIELDS = {
    "type": ACTIVITY_TYPE_LABELS,
    "role": ROLE_LABELS,
    "exec_role": EXEC_ROLE_LABELS,
    "status": STATUS_LABELS,
    "channel": CHANNEL_LABELS,
    "voc_kind": VOC_KIND_LABELS,
    "period": PERIOD_LABELS,
    "office_class": OFFICE_CLASS_LABELS,
    "locale": LANGUAGE_NAMES,
}
#: Fields holding ``{code: number}``, with the label table of their codes.
CODE_MAP_FIELDS = {"executive_visit_quotas": EXEC_ROLE_LABELS, "planned_populations": TIER_LABELS}
#: Amounts shown with digit grouping.
AMOUNT_FIELDS = frozenset(
    {
        "transformer_kva",
        "monthly_revenue_thb",
        "bytes",
        "rows",
        "created",
        "updated",
        "unchanged",
        "offices",
        "users",
    }
)
#: The file kinds of an import, by the kind of record each one holds.
IMPORT_KIND_ENTITIES = {"tiers": "tier_assignments"}
#: ``effective_from`` of a tier that holds "from always", as the log keeps it.
ALWAYS = ALWAYS_DAY.isoformat()
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_ISO_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?")
_NO_VALUE = (None, "", [], {})
_DASH = "–"


@dataclass(frozen=True)
class ChangeLine:
    """One line of an entry's change: a field's label, its value, and before a change its old value."""

    label: str
    value: str
    #: The value before, for a field that changed (None: nothing to compare with).
    before: str | None = None


@dataclass(frozen=True)
class ShownEntry:
    """An audit entry as the page shows it."""

    entry: AuditEntry
    #: The kind of record, e.g. "User", "Quarter close".
    kind: str
    #: The record's key the way people read it (``3/2569``), or "" when that is the key itself.
    record: str
    #: Who made the change: their name and username, or "system".
    actor: str
    lines: list[ChangeLine] = field(default_factory=list)
    #: Lines left off after ``MAX_LINES``.
    more: int = 0


def entity_label(entity: str) -> str:
    """Return the name of a kind of record (``users`` → "User"), or the table name if unknown."""
    return label(AUDIT_ENTITY_LABELS, entity)


def entity_choices(selected: str | None = None) -> list[tuple[str, str]]:
    """Return (entity, label) of every kind of record, by label; an unknown ``selected`` too.

    The value stays the table name, so the ``?entity=`` of existing links still works.
    """
    choices = sorted(
        ((entity, str(text)) for entity, text in AUDIT_ENTITY_LABELS.items()),
        key=lambda choice: choice[1].casefold(),
    )
    if selected and selected not in AUDIT_ENTITY_LABELS:
        choices.append((selected, selected))
    return choices


def field_label(name: str) -> str:
    """Return the name of a field as the page reads it (``closed_at`` → "Closed at")."""
    return label(AUDIT_FIELD_LABELS, name)


def shown_entries(entries: Iterable[AuditEntry]) -> list[ShownEntry]:
    """Return the entries of one page as the page shows them.

    The names of the people involved (who made each change, and usernames among the
    values) are read in one query for the whole page.
    """
    entries = list(entries)
    people = _people(entries)
    return [_shown_entry(entry, people) for entry in entries]


# --- people --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _People:
    by_id: dict[int, tuple[str, str | None]]
    by_username: dict[str, str | None]

    def named(self, username: str, full_name: str | None) -> str:
        return f"{full_name} ({username})" if full_name and full_name != username else username

    def actor(self, entry: AuditEntry) -> str:
        if entry.actor_id is None and not entry.actor_name:
            return _("system")
        username, full_name = self.by_id.get(entry.actor_id, (entry.actor_name, None))
        # The name at the time of the change is what the log kept; the full name is today's.
        return self.named(entry.actor_name or username or "", full_name)

    def user(self, username: str) -> str:
        return self.named(username, self.by_username.get(username))


def _people(entries: list[AuditEntry]) -> _People:
    from kamcrm.org.models import User

    ids = {entry.actor_id for entry in entries if entry.actor_id is not None}
    usernames = {
        value
        for entry in entries
        for record in (entry.before, entry.after)
        if isinstance(record, dict)
        for name, value in record.items()
        if name in PERSON_FIELDS and isinstance(value, str)
    }
    if not ids and not usernames:
        return _People({}, {})
    rows = db.session.execute(
        sa.select(User.id, User.username, User.full_name).where(
            sa.or_(User.id.in_(ids), User.username.in_(usernames))
        )
    ).all()
    return _People(
        {row.id: (row.username, row.full_name) for row in rows},
        {row.username: row.full_name for row in rows},
    )


# --- entries -------------------------------------------------------------------------------


def _shown_entry(entry: AuditEntry, people: _People) -> ShownEntry:
    lines = change_lines(entry, people)
    record = record_name(entry.entity, entry.entity_key)
    return ShownEntry(
        entry=entry,
        kind=entity_label(entry.entity),
        record="" if record == entry.entity_key else record,
        actor=people.actor(entry),
        lines=lines[:MAX_LINES],
        more=max(0, len(lines) - MAX_LINES),
    )


def record_name(entity: str, key: str) -> str:
    """Return the record's key as people read it, or "" where the key reads well as it is.

    Years become BE on Thai pages: ``2026-Q3`` → "3/2569", ``2026:RBA:STREAMLINE`` →
    "RBA – relationship building · Streamline · 2569". The page shows the key beside it,
    so a record can still be looked up by its key.
    """
    parts = key.split(":")
    try:
        if entity == "quarter_closes":
            return format_quarter(*parse_quarter(key))
        if entity == "year_targets":
            return format_year(int(key))
        if entity == "frequency_rules" and len(parts) == 3:
            return " · ".join(
                [
                    label(ACTIVITY_TYPE_LABELS, parts[1]),
                    label(TIER_LABELS, parts[2]),
                    format_year(int(parts[0])),
                ]
            )
        if entity == "executive_visit_quotas" and len(parts) == 2:
            return f"{label(EXEC_ROLE_LABELS, parts[1])} · {format_year(int(parts[0]))}"
        if entity == "planned_populations" and len(parts) == 2:
            return f"{label(TIER_LABELS, parts[1])} · {format_year(int(parts[0]))}"
        if entity == "tier_assignments" and "@" in key:
            account_no, day = key.rsplit("@", 1)
            return f"{account_no} · {_show_effective_from(day)}"
    except ValueError:
        pass
    return ""


def change_lines(entry: AuditEntry, people: _People | None = None) -> list[ChangeLine]:
    """Return what an entry changed, one line per field.

    A field in both ``before`` and ``after`` is shown only if it differs, as before → after
    (a list of rules only by the rules that differ). A field on one side only (a new or
    deleted record, the moment of a close) is shown with its value, unless it is empty or
    just repeats the record's key.
    """
    people = people or _People({}, {})
    before = entry.before if isinstance(entry.before, dict) else {}
    after = entry.after if isinstance(entry.after, dict) else {}
    lines = []
    for name in sorted(dict.fromkeys([*before, *after]), key=_field_order):
        if name in HIDDEN_FIELDS:
            continue
        if name == "password":  # the log keeps only that it changed, never the value
            lines.append(ChangeLine(field_label(name), _("changed")))
            continue
        if name in before and name in after:
            old, new = before[name], after[name]
            if old == new:
                continue
            if _is_rule_list(old) and _is_rule_list(new):
                lines.extend(_rule_changes(name, old, new))
                continue
            lines.append(
                ChangeLine(
                    field_label(name), show_value(name, new, people), show_value(name, old, people)
                )
            )
            continue
        value = after[name] if name in after else before[name]
        if value in _NO_VALUE or (
            entry.action != "update"
            and (str(value) == entry.entity_key or name in KEY_FIELDS.get(entry.entity, ()))
        ):
            continue
        lines.append(ChangeLine(field_label(name), show_value(name, value, people)))
    return lines


def _field_order(name: str) -> int:
    """Order fields as the label table lists them (PostgreSQL's JSONB keeps no key order)."""
    return _FIELD_POSITIONS.get(name, len(_FIELD_POSITIONS))


_FIELD_POSITIONS = {name: position for position, name in enumerate(AUDIT_FIELD_LABELS)}


# --- values --------------------------------------------------------------------------------


def show_value(name: str, value, people: _People | None = None) -> str:
    """Return a field's stored value as the page shows it."""
    if value is None or value == "":
        return _("No tier") if name == "tier" else _DASH
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if name in PERSON_FIELDS and isinstance(value, str):
        return people.user(value) if people else value
    if name == "tier":
        return label(TIER_LABELS, value)
    if name in CODE_FIELDS:
        return label(CODE_FIELDS[name], value)
    if name == "kind":  # of an import: the kind of record the file holds
        return entity_label(IMPORT_KIND_ENTITIES.get(value, value))
    if name == "year" and isinstance(value, int):
        return format_year(value)
    if name == "target_pct":
        return format_pct(value)
    if name in ("effective_from", "tier_effective_from") and isinstance(value, str):
        return _show_effective_from(value)
    if name in AMOUNT_FIELDS:
        return _show_amount(value)
    if isinstance(value, list):
        if _is_rule_list(value):
            return ngettext("%(num)d rule", "%(num)d rules", len(value))
        return ", ".join(show_value(name, item, people) for item in value)
    if isinstance(value, dict):
        codes = CODE_MAP_FIELDS.get(name, {})
        order = list(codes)
        keys = sorted(value, key=lambda code: order.index(code) if code in order else len(order))
        return ", ".join(
            f"{label(codes, key)} {show_value(name, value[key], people)}" for key in keys
        )
    if isinstance(value, str):
        return _show_text(value)
    return str(value)


def _show_text(value: str) -> str:
    """Show ISO dates and timestamps as dates and Bangkok times; other text as it is."""
    if _ISO_DATE.fullmatch(value):
        return format_day(value, "short")
    if _ISO_MOMENT.fullmatch(value):
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if moment.tzinfo is None:  # the database keeps every timestamp in UTC
            moment = moment.replace(tzinfo=timezone.utc)
        return format_moment(moment)
    return value


def _show_effective_from(value: str) -> str:
    return _("always") if value == ALWAYS else _show_text(value)


def _show_amount(value) -> str:
    try:
        return format_number(Decimal(str(value)))
    except InvalidOperation:
        return str(value)


# --- a year's rules ------------------------------------------------------------------------


def _is_rule_list(value) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(item, dict) and "type" in item and "tier" in item for item in value)
    )


def _rule_changes(name: str, old: list[dict], new: list[dict]) -> list[ChangeLine]:
    """Return one line per rule that differs between two lists of a year's rules."""
    before = {(rule["type"], rule["tier"]): rule for rule in old}
    after = {(rule["type"], rule["tier"]): rule for rule in new}
    lines = []
    for key in dict.fromkeys([*before, *after]):
        if before.get(key) == after.get(key):
            continue
        type_, tier = key
        heading = f"{field_label(name)}: {type_} · {label(TIER_LABELS, tier)}"
        lines.append(ChangeLine(heading, _show_rule(after.get(key)), _show_rule(before.get(key))))
    return lines


def _show_rule(rule: dict | None) -> str:
    """Show a rule briefly: "1.1.2 · 1 per year · 55%"; a dash for no rule."""
    if rule is None:
        return _DASH
    return " · ".join(
        [
            str(rule.get("item", "")),
            f"{rule.get('min_count', '')} {label(PERIOD_LABELS, rule.get('period'))}",
            format_pct(rule.get("target_pct")),
        ]
    )
