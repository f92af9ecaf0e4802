"""Prospect lists (SPEC section 10): monthly consumption, the yearly list settings, the
numbered snapshots and their members; the business-visit type BIZ with its outcome and
quoted value on activities.

New tables and two new activity columns; the activity type CHECK gains 'BIZ'. SQLite cannot
alter a CHECK, and a batch "move and copy" of activities would cascade-delete every follow-up
(foreign keys are on), so on SQLite the CHECK's text is edited in place in the schema table,
the documented way for a change that leaves every stored row valid (a list that only grows):
https://www.sqlite.org/lang_altertable.html#otheralter

Revision ID: 0011_prospects
Revises: 0010_prevention
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_prospects"
down_revision = "0010_prevention"
branch_labels = None
depends_on = None

OLD_TYPES = "type IN ('FMS', 'RBA', 'COM', 'EXV', 'SEM', 'PLN', 'BOI')"
NEW_TYPES = "type IN ('FMS', 'RBA', 'COM', 'EXV', 'SEM', 'PLN', 'BOI', 'BIZ')"
OUTCOME = "outcome IS NULL OR outcome IN ('interested', 'quoted', 'won', 'declined')"
OUTCOME_ONLY_FOR_BIZ = "type = 'BIZ' OR (outcome IS NULL AND quoted_value_thb IS NULL)"
QUOTED_NOT_NEGATIVE = "quoted_value_thb IS NULL OR quoted_value_thb >= 0"


def _replace_sqlite_check(old: str, new: str) -> None:
    connection = op.get_bind()
    sql = connection.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'activities'"
    ).scalar()
    if old not in sql:
        raise RuntimeError(f"activities has no CHECK ({old}); cannot change it")
    version = connection.exec_driver_sql("PRAGMA schema_version").scalar()
    connection.exec_driver_sql("PRAGMA writable_schema = ON")
    connection.execute(
        sa.text("UPDATE sqlite_master SET sql = :sql WHERE type = 'table' AND name = 'activities'"),
        {"sql": sql.replace(old, new)},
    )
    connection.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")
    connection.exec_driver_sql("PRAGMA writable_schema = OFF")


def upgrade():
    op.create_table(
        "consumption",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("kwh", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("peak_kw", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("peak_kva", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("revenue_thb", sa.Numeric(precision=16, scale=2), nullable=True),
        sa.CheckConstraint("kwh >= 0", name=op.f("ck_consumption_kwh_not_negative")),
        sa.CheckConstraint(
            "peak_kw IS NULL OR peak_kw >= 0", name=op.f("ck_consumption_peak_kw_not_negative")
        ),
        sa.CheckConstraint(
            "peak_kva IS NULL OR peak_kva >= 0", name=op.f("ck_consumption_peak_kva_not_negative")
        ),
        sa.CheckConstraint(
            "revenue_thb IS NULL OR revenue_thb >= 0",
            name=op.f("ck_consumption_revenue_not_negative"),
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_consumption_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("account_id", "month", name=op.f("pk_consumption")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "prospect_settings",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("hv1_growth_pct", sa.Numeric(precision=7, scale=2), nullable=False),
        sa.Column("hv1_utilisation_pct", sa.Numeric(precision=7, scale=2), nullable=False),
        sa.Column("hv2_utilisation_pct", sa.Numeric(precision=7, scale=2), nullable=False),
        sa.Column("mt2_transformer_kva", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("power_factor", sa.Numeric(precision=4, scale=3), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "power_factor > 0 AND power_factor <= 1",
            name=op.f("ck_prospect_settings_power_factor_range"),
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"], ["users.id"], name=op.f("fk_prospect_settings_updated_by_id_users")
        ),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_prospect_settings")),
    )
    op.create_table(
        "prospect_snapshots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("generated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("generated_on", sa.Date(), nullable=False),
        sa.Column("generated_by_id", sa.Integer(), nullable=True),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("maintenance_available", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["generated_by_id"],
            ["users.id"],
            name=op.f("fk_prospect_snapshots_generated_by_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prospect_snapshots")),
        sa.UniqueConstraint("year", "version", name="uq_prospect_snapshots_year_version"),
    )
    op.create_table(
        "prospect_members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("snapshot_id", sa.Integer(), nullable=False),
        sa.Column("list_code", sa.String(length=10), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("office_id", sa.Integer(), nullable=False),
        sa.Column("kamr_id", sa.Integer(), nullable=True),
        sa.Column("listed_on", sa.Date(), nullable=False),
        sa.Column("kwh_prev", sa.Numeric(precision=16, scale=2), nullable=True),
        sa.Column("kwh_prev2", sa.Numeric(precision=16, scale=2), nullable=True),
        sa.Column("months_prev", sa.Integer(), nullable=False),
        sa.Column("months_prev2", sa.Integer(), nullable=False),
        sa.Column("peak_kva_prev", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("transformer_kva", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("utilisation_pct", sa.Numeric(precision=10, scale=2), nullable=True),
        sa.Column("growth_pct", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("last_maintenance_on", sa.Date(), nullable=True),
        sa.Column("clause", sa.String(length=300), nullable=False),
        sa.CheckConstraint(
            "list_code IN ('HV1', 'HV2', 'MT1', 'MT2', 'INCOMPLETE')",
            name=op.f("ck_prospect_members_list_code"),
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_prospect_members_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["kamr_id"], ["users.id"], name=op.f("fk_prospect_members_kamr_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["office_id"], ["offices.id"], name=op.f("fk_prospect_members_office_id_offices")
        ),
        sa.ForeignKeyConstraint(
            ["snapshot_id"],
            ["prospect_snapshots.id"],
            ondelete="CASCADE",
            name=op.f("fk_prospect_members_snapshot_id_prospect_snapshots"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prospect_members")),
        sa.UniqueConstraint(
            "snapshot_id", "list_code", "account_id", name="uq_prospect_members_list_account"
        ),
    )
    op.create_index(
        "ix_prospect_members_snapshot_office", "prospect_members", ["snapshot_id", "office_id"]
    )
    op.create_index("ix_prospect_members_account", "prospect_members", ["account_id"])

    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        _replace_sqlite_check(OLD_TYPES, NEW_TYPES)
        # SQLite adds a column with its own CHECKs (named, so that they read like the others).
        op.execute(
            "ALTER TABLE activities ADD COLUMN outcome VARCHAR(12) "
            f"CONSTRAINT ck_activities_outcome CHECK ({OUTCOME})"
        )
        op.execute(
            "ALTER TABLE activities ADD COLUMN quoted_value_thb NUMERIC(16, 2) "
            f"CONSTRAINT ck_activities_quoted_value_not_negative CHECK ({QUOTED_NOT_NEGATIVE}) "
            f"CONSTRAINT ck_activities_outcome_only_for_biz CHECK ({OUTCOME_ONLY_FOR_BIZ})"
        )
    else:
        op.drop_constraint(op.f("ck_activities_type"), "activities", type_="check")
        op.create_check_constraint(op.f("ck_activities_type"), "activities", NEW_TYPES)
        op.add_column("activities", sa.Column("outcome", sa.String(length=12), nullable=True))
        op.add_column(
            "activities",
            sa.Column("quoted_value_thb", sa.Numeric(precision=16, scale=2), nullable=True),
        )
        op.create_check_constraint(op.f("ck_activities_outcome"), "activities", OUTCOME)
        op.create_check_constraint(
            op.f("ck_activities_outcome_only_for_biz"), "activities", OUTCOME_ONLY_FOR_BIZ
        )
        op.create_check_constraint(
            op.f("ck_activities_quoted_value_not_negative"), "activities", QUOTED_NOT_NEGATIVE
        )


def downgrade():
    sqlite = op.get_bind().dialect.name == "sqlite"
    if (
        op.get_bind()
        .execute(sa.text("SELECT count(*) FROM activities WHERE type = 'BIZ'"))
        .scalar()
    ):
        raise RuntimeError("BIZ activities exist; delete them before downgrading")
    if sqlite:
        op.drop_column("activities", "quoted_value_thb")
        op.drop_column("activities", "outcome")
        _replace_sqlite_check(NEW_TYPES, OLD_TYPES)
    else:
        for name in ("quoted_value_not_negative", "outcome_only_for_biz", "outcome", "type"):
            op.drop_constraint(op.f(f"ck_activities_{name}"), "activities", type_="check")
        op.drop_column("activities", "quoted_value_thb")
        op.drop_column("activities", "outcome")
        op.create_check_constraint(op.f("ck_activities_type"), "activities", OLD_TYPES)
    op.drop_index("ix_prospect_members_account", table_name="prospect_members")
    op.drop_index("ix_prospect_members_snapshot_office", table_name="prospect_members")
    op.drop_table("prospect_members")
    op.drop_table("prospect_snapshots")
    op.drop_table("prospect_settings")
    op.drop_table("consumption")
