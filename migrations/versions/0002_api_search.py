"""API: finding an account by part of its name or number reads an index, not the table.

``GET /api/v1/accounts?q=`` matches a part of the name (``ILIKE '%q%'``) or the start of the
account number (``LIKE 'q%'``); over 100,000 accounts PostgreSQL read every row for it (about
200 ms). A trigram GIN index on both columns (extension pg_trgm, trusted since PostgreSQL 13,
so the database owner may create it) answers both patterns, joined by OR, from the index in a
few milliseconds. On SQLite the operator class does not exist and the index is a plain one.

Revision ID: 0002_api_search
Revises: 0002_compliance (revisions form one chain, so a plain ``db upgrade`` applies all)
"""

from alembic import op

revision = "0002_api_search"
down_revision = "0002_compliance"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_index(
        "ix_accounts_search_trgm",
        "accounts",
        ["name", "account_no"],
        unique=False,
        postgresql_using="gin",
        postgresql_ops={"name": "gin_trgm_ops", "account_no": "gin_trgm_ops"},
    )


def downgrade():
    # The extension stays: other schemas or databases may use it.
    op.drop_index("ix_accounts_search_trgm", table_name="accounts")
