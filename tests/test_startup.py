"""Start-up: ``create_app`` leaves the heavy libraries unimported until they are used.

Checked in a fresh interpreter (this test process has imported everything already).
The time itself is measured by ``python -m bench startup``, not here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

#: Libraries only some commands or pages need: PDF, spreadsheets, migrations, password
#: hashing, the scheduler. None of them may be imported by building the application.
HEAVY = (
    "weasyprint",
    "pydyf",
    "xlsxwriter",
    "openpyxl",
    "pypdf",
    "PIL",
    "alembic",
    "flask_migrate",
    "mako",
    "argon2",
    "apscheduler",
)


def _modules_after(code: str, tmp_path) -> set[str]:
    script = (
        "import json, sys\n"
        "import kamcrm\n"
        f"{code}\n"
        "print(json.dumps(sorted({name.split('.')[0] for name in sys.modules})))\n"
    )
    env = dict(
        os.environ,
        KAMCRM_INSTANCE_PATH=str(tmp_path),
        KAMCRM_DATABASE_URL=f"sqlite:///{tmp_path}/s.sqlite",
    )
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    )
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def test_create_app_imports_no_heavy_library(tmp_path):
    loaded = _modules_after("kamcrm.create_app({'SECRET_KEY': 'x'})", tmp_path)
    assert "flask" in loaded and "sqlalchemy" in loaded  # the probe works
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))


def test_the_db_commands_load_alembic_when_used(tmp_path):
    loaded = _modules_after(
        "from click.testing import CliRunner\n"
        "app = kamcrm.create_app({'SECRET_KEY': 'x'})\n"
        "result = app.test_cli_runner().invoke(args=['db', 'heads'])\n"
        "assert result.exit_code == 0, result.output\n"
        "assert '(head)' in result.output, result.output\n",
        tmp_path,
    )
    assert "alembic" in loaded


def test_db_help_lists_the_migration_commands(app):
    result = app.test_cli_runner().invoke(args=["db", "--help"])
    assert result.exit_code == 0
    assert "upgrade" in result.output and "--directory" in result.output
    assert "Perform database migrations." in app.test_cli_runner().invoke(args=["--help"]).output


def test_migration_settings_are_flask_migrates(app):
    settings = app.extensions["migrate"]
    assert settings.configure_args == {"render_as_batch": True, "compare_type": True}
    assert settings.migrate.get_config().get_main_option("script_location").endswith("migrations")


def test_password_hashing_still_works():
    from kamcrm.org.passwords import hash_password, needs_rehash, verify_password

    hashed = hash_password("s3cret-enough")
    assert hashed.startswith("$argon2id$")
    assert verify_password(hashed, "s3cret-enough") and not verify_password(hashed, "wrong")
    assert not verify_password(None, "x") and not verify_password("garbage", "x")
    assert not needs_rehash(hashed) and needs_rehash("garbage")
