"""The migrations build exactly the schema the models describe, and it guards its data."""

from datetime import date

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from kamcrm.activities.models import Activity
from kamcrm.extensions import db


def test_models_and_migrations_agree(app_ctx):
    context = MigrationContext.configure(db.session.connection(), opts={"compare_type": True})
    assert compare_metadata(context, db.metadata) == []


def _violates(statement) -> bool:
    try:
        with db.session.begin_nested():
            db.session.execute(statement)
    except sa.exc.IntegrityError:
        return True
    return False


@pytest.mark.parametrize(
    "values",
    [
        {"type": "XXX"},
        {"status": "maybe"},
        {"channel": "pigeon"},
        {"type": "EXV", "exec_role": None},
        {"type": "COM", "exec_role": "office_manager"},
        {"account_id": 999999},
    ],
    ids=["type", "status", "channel", "exv-without-role", "role-without-exv", "unknown-account"],
)
def test_database_refuses_impossible_activities(make, values):
    account = make.account()
    user = make.user(office=account.office)
    row = {
        "account_id": account.id,
        "type": "COM",
        "activity_date": date(2021, 1, 5),
        "status": "done",
        "performed_by_id": user.id,
        "recorded_at": sa.func.current_timestamp(),
        "is_late": False,
        "version": 1,
        "created_at": sa.func.current_timestamp(),
        "updated_at": sa.func.current_timestamp(),
        "exec_role": None,
    }
    row.update(values)
    assert _violates(sa.insert(Activity.__table__).values(**row))


def test_account_numbers_are_unique(make):
    make.account(account_no="020000000001")
    with pytest.raises(sa.exc.IntegrityError):
        make.account(account_no="020000000001")


@pytest.mark.parametrize("attempt", [1, 2])
def test_each_test_starts_from_an_empty_database(make, attempt):
    from kamcrm.accounts.models import Account

    make.account()
    db.session.commit()  # a commit inside a test only releases a savepoint
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Account)) == 1


@pytest.mark.parametrize("name", ["Office", "User", "Account"])
def test_the_base_layers_plain_tables_name_real_columns_of_their_models(name):
    """``kamcrm.lookups`` reads offices, users and accounts through plain ``sa.table``s so the
    base layer need not import the domains; a renamed or retyped model column must break here,
    not in a lookup at run time."""
    from kamcrm import lookups, models  # noqa: F401  (models registers every table)

    plain = getattr(lookups, name)
    mapped = db.metadata.tables[plain.name]
    for column in plain.columns:
        assert column.name in mapped.columns, f"{plain.name}.{column.name} is not a model column"
        assert column.type._type_affinity is mapped.columns[column.name].type._type_affinity, (
            f"{plain.name}.{column.name}: {column.type!r} in lookups, {mapped.columns[column.name].type!r} in the model"
        )
