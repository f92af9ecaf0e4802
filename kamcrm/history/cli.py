"""``flask audit list``: read the audit log from the command line (read only)."""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup

from kamcrm.audit.models import AUDIT_ACTIONS
from kamcrm.history.queries import MAX_PER_PAGE, AuditFilter, audit_entries
from kamcrm.periods import BANGKOK

audit_cli = AppGroup("audit", help="Read the audit log.")


def _changes(entry) -> str:
    before, after = entry.before or {}, entry.after or {}
    keys = list(dict.fromkeys([*before, *after]))
    parts = []
    for key in keys:
        if key in before and key in after:
            parts.append(f"{key}: {before[key]!r} → {after[key]!r}")
        elif key in after:
            parts.append(f"{key}={after[key]!r}")
        else:
            parts.append(f"{key} was {before[key]!r}")
    return "; ".join(parts)


@audit_cli.command("list")
@click.option("--entity", help="Table of the record, e.g. activities, users, accounts.")
@click.option("--key", help="Key of the record (account number, username, id …).")
@click.option("--actor", help="Username of whoever made the change; 'system' for the system.")
@click.option("--action", type=click.Choice(AUDIT_ACTIONS))
@click.option("--from", "date_from", type=click.DateTime(["%Y-%m-%d"]), help="First Bangkok date.")
@click.option("--to", "date_to", type=click.DateTime(["%Y-%m-%d"]), help="Last Bangkok date.")
@click.option("--text", help="Words in the key, actor, reason or changed values.")
@click.option("--page", type=click.IntRange(1), default=1, show_default=True)
@click.option("--per-page", type=click.IntRange(1, MAX_PER_PAGE), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def list_command(entity, key, actor, action, date_from, date_to, text, page, per_page, as_json):
    """List audit entries, newest first (times in Asia/Bangkok)."""
    criteria = AuditFilter(
        entity=entity,
        key=key,
        actor=actor,
        action=action,
        text=text,
        date_from=date_from.date() if date_from else None,
        date_to=date_to.date() if date_to else None,
    )
    result = audit_entries(None, criteria, page=page, per_page=per_page)
    for entry in result.items:
        if as_json:
            click.echo(
                json.dumps(
                    {
                        "id": entry.id,
                        "occurred_at": entry.occurred_at.isoformat(),
                        "actor": entry.actor_name,
                        "action": entry.action,
                        "entity": entry.entity,
                        "key": entry.entity_key,
                        "before": entry.before,
                        "after": entry.after,
                        "reason": entry.reason,
                    },
                    ensure_ascii=False,
                )
            )
            continue
        when = entry.occurred_at.astimezone(BANGKOK).strftime("%Y-%m-%d %H:%M:%S")
        line = (
            f"{when}  {entry.actor_name or 'system':<16} {entry.action:<7} "
            f"{entry.entity}/{entry.entity_key}"
        )
        changes = _changes(entry)
        if changes:
            line += f"  {changes}"
        if entry.reason:
            line += f"  (reason: {entry.reason})"
        click.echo(line)
    if not as_json:
        click.echo(f"-- page {result.page} of {result.pages}, {result.total} entries", err=True)
