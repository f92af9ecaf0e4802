"""Benchmark the CR2 report on a large region: SQLite file and PostgreSQL database ``kamcrm_bench``.

The world: a region with 12 class 1-3 offices and 8 branches, 100,000 accounts with tier
histories, openings and closings, and 2,000,000 activities of every type and status over
two years, written straight into the tables (sqlite3 ``executemany`` / PostgreSQL ``COPY``)
after the real migrations built the schema, then ``ANALYZE``. Deterministic: same options,
same data; the SQLite file (one per size) is kept under ``bench/out/cr2/`` and reused.

Each database is then measured in a child process: the region's CR2 report for the year,
one office's, and the *floor* — one hand-written aggregate over the same activity rows
(``SELECT account_id, type, COUNT(*) … WHERE status = 'done' AND activity_date BETWEEN …
GROUP BY account_id, type``, and for the office the same joined to its accounts). Each
figure is the median of ``--runs`` runs after one warm-up; the ratio to the floor says how
much the report costs beyond reading the rows once. Peak memory is the child's ``ru_maxrss``.

    python -m bench cr2 [--accounts 100000] [--activities 2000000] [--runs 5]
                        [--databases sqlite,postgresql] [--rebuild] [--explain] [--before REF]

``--before REF`` measures the code of git revision REF as well, in the same run: its files
are extracted (``git archive``) under ``bench/out/code-REF``, a copy of each database (a
file copy; ``CREATE DATABASE … TEMPLATE``) is taken down to REF's migration head, and the
same child runs on it with REF's code, just before the current code's child.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sqlite3
import statistics
import subprocess
import sys
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out" / "cr2"
POSTGRES_SERVER = os.environ.get(
    "KAMCRM_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1/postgres"
)
POSTGRES_DATABASE = os.environ.get("KAMCRM_BENCH_POSTGRES_DATABASE", "kamcrm_bench")
YEAR = 2021
GOALS = {"region_s": 2.0, "office_s": 0.3, "ratio": 1.5, "peak_mb": 300}

TYPES = ("FMS", "RBA", "COM", "EXV", "SEM", "PLN", "BOI")
TYPE_WEIGHTS = (10, 15, 50, 8, 5, 7, 5)
STATUSES = ("done", "planned", "cancelled")
STATUS_WEIGHTS = (85, 10, 5)
TIER_CHOICES = ("STRATEGIC", "STAR", "STATUS", "STREAMLINE", None)
TIER_WEIGHTS = (2, 3, 8, 80, 7)
CHANNELS = ("visit", "phone", "email", "line", "letter", "meeting", "online")


def _stamp(day: date, rng: random.Random) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=timezone.utc) + timedelta(
        minutes=rng.randint(60, 60 * 24 * 6)
    )


def generate(accounts: int, activities: int, complaints: int = 0):
    """Yield ``(table, columns, rows)`` for the whole world; rows is an iterator of tuples.

    Complaints come last, from a generator of their own, so the rest of the world is the
    same whatever their number."""
    rng = random.Random(f"cr2-bench-{accounts}-{activities}")
    now = datetime(2022, 1, 10, tzinfo=timezone.utc)
    offices = [(1, "R2", "การไฟฟ้าส่วนภูมิภาค เขต 2", "region", None)]
    for n in range(12):
        offices.append((2 + n, f"O{n + 1:02d}", f"กฟฟ. ทดสอบ {n + 1}", str(1 + n % 3), 1))
    for n in range(8):
        offices.append((14 + n, f"O{n + 1:02d}B", f"กฟส. ทดสอบ {n + 1}", "branch", 2 + n))
    yield (
        "offices",
        ("id", "code", "name", "office_class", "parent_id", "created_at", "updated_at"),
        iter([o + (now, now) for o in offices]),
    )
    users = [(1, "director", "ผู้อำนวยการ", "executive", 1, "region_director")]
    users += [
        (2 + k, f"assistant{k + 1}", f"ผู้ช่วย {k + 1}", "executive", 1, "assistant_director")
        for k in range(3)
    ]
    managers = {}
    for office_id, code, *_ in offices[1:13]:
        managers[office_id] = len(users) + 1
        users.append(
            (
                len(users) + 1,
                f"manager.{code.lower()}",
                f"ผจก. {code}",
                "office_manager",
                office_id,
                "office_manager",
            )
        )
    kamrs = {}
    for office_id, code, *_ in offices[1:]:
        kamrs[office_id] = []
        for k in range(3):
            kamrs[office_id].append(len(users) + 1)
            users.append(
                (
                    len(users) + 1,
                    f"kamr.{code.lower()}.{k}",
                    f"KAMR {code} {k}",
                    "kamr",
                    office_id,
                    None,
                )
            )
    yield (
        "users",
        (
            "id",
            "username",
            "full_name",
            "role",
            "office_id",
            "exec_role",
            "active",
            "created_at",
            "updated_at",
        ),
        iter([u + (True, now, now) for u in users]),
    )
    office_ids = [o[0] for o in offices]
    office_weights = [2] + [10] * 12 + [5] * 8
    parent = {o[0]: o[4] for o in offices}
    account_office = {}

    def account_rows():
        for n in range(1, accounts + 1):
            office_id = rng.choices(office_ids, office_weights)[0]
            account_office[n] = office_id
            kamr = rng.choice(kamrs.get(office_id, kamrs[2]))
            opened = (
                None
                if rng.random() < 0.7
                else date(2015, 1, 1) + timedelta(days=rng.randint(0, 7 * 365))
            )
            closed = None
            if rng.random() < 0.03:
                closed = (opened or date(2019, 1, 1)) + timedelta(days=rng.randint(1, 1000))
            yield (
                n,
                f"02{n:010d}",
                f"บริษัท ทดสอบ {n} จำกัด",
                office_id,
                kamr,
                rng.random() < 0.05,
                False,
                opened,
                closed,
                1,
                now,
                now,
            )

    yield (
        "accounts",
        (
            "id",
            "account_no",
            "name",
            "office_id",
            "kamr_id",
            "boi",
            "spp_area",
            "opened_on",
            "closed_on",
            "version",
            "created_at",
            "updated_at",
        ),
        account_rows(),
    )

    def tier_rows():
        ident = 0
        for n in range(1, accounts + 1):
            day = date(2018, 1, 1)
            for _ in range(1 + (rng.random() < 0.3) + (rng.random() < 0.1)):
                ident += 1
                yield (ident, n, rng.choices(TIER_CHOICES, TIER_WEIGHTS)[0], day, now, now)
                day = day + timedelta(days=rng.randint(200, 900))

    yield (
        "tier_assignments",
        ("id", "account_id", "tier", "effective_from", "created_at", "updated_at"),
        tier_rows(),
    )

    start = date(YEAR - 1, 1, 1)
    span = (date(YEAR, 12, 31) - start).days

    def activity_rows():
        for ident in range(1, activities + 1):
            account = rng.randint(1, accounts)
            type_ = rng.choices(TYPES, TYPE_WEIGHTS)[0]
            day = start + timedelta(days=rng.randint(0, span))
            status = rng.choices(STATUSES, STATUS_WEIGHTS)[0]
            exec_role = None
            office_id = account_office[account]
            performer = kamrs.get(office_id, kamrs[2])[0]
            if type_ == "EXV":
                roll = rng.random()
                if roll < 0.05:
                    exec_role, performer = "region_director", 1
                elif roll < 0.30:
                    exec_role, performer = "assistant_director", rng.randint(2, 4)
                else:
                    unit = office_id if parent[office_id] == 1 else parent[office_id] or 2
                    exec_role, performer = "office_manager", managers.get(unit, managers[2])
            recorded = _stamp(day, rng)
            yield (
                ident,
                account,
                type_,
                day,
                status,
                rng.choice(CHANNELS),
                performer,
                exec_role,
                recorded,
                performer,
                False,
                1,
                recorded,
                recorded,
            )

    yield (
        "activities",
        (
            "id",
            "account_id",
            "type",
            "activity_date",
            "status",
            "channel",
            "performed_by_id",
            "exec_role",
            "recorded_at",
            "recorded_by_id",
            "is_late",
            "version",
            "created_at",
            "updated_at",
        ),
        activity_rows(),
    )
    if complaints:
        yield (
            "complaints",
            COMPLAINT_COLUMNS,
            complaint_rows(complaints, accounts, account_office, now),
        )


COMPLAINT_COLUMNS = (
    "id",
    "ref",
    "office_id",
    "account_id",
    "category",
    "channel",
    "urgent",
    "received_at",
    "received_on",
    "closed_at",
    "days_to_close",
    "micros_to_close",
    "excluded",
    "summary",
    "resolution",
    "assigned_to_id",
    "recorded_by_id",
    "version",
    "created_at",
    "updated_at",
)
COMPLAINT_CATEGORIES = (
    ("POWER_QUALITY", 25),
    ("SERVICE_QUALITY", 25),
    ("METER_BILLING", 15),
    ("DISCONNECTION", 20),
    ("NETWORK", 20),
    ("OTHER", 20),
)


def complaint_rows(count: int, accounts: int, account_office: dict, now: datetime):
    """Complaints over the two years: 30% on an account, 5% urgent, 5% excluded, 3% open."""
    from kamcrm.complaints.queries import days_between, micros_between
    from kamcrm.periods import BANGKOK

    rng = random.Random(f"cr2-bench-complaints-{count}")
    start = date(YEAR - 1, 1, 1)
    span = (date(YEAR, 12, 31) - start).days
    for ident in range(1, count + 1):
        account = rng.randint(1, accounts) if rng.random() < 0.3 else None
        office_id = account_office[account] if account else rng.randint(2, 21)
        category, limit = rng.choice(COMPLAINT_CATEGORIES)
        urgent = rng.random() < 0.05
        day = start + timedelta(days=rng.randint(0, span))
        received = datetime.combine(day, datetime.min.time(), BANGKOK) + timedelta(
            minutes=rng.randint(0, 24 * 60 - 1)
        )
        closed = None
        if rng.random() > 0.03:
            taken = (
                timedelta(hours=rng.uniform(1, 30))
                if urgent
                else timedelta(days=rng.randint(0, limit + 15), hours=rng.randint(0, 12))
            )
            closed = min(received + taken, now)
        excluded = rng.choices((None, "misconduct", "duplicate", "withdrawn"), (95, 2, 2, 1))[0]
        yield (
            ident,
            f"B{ident:08d}",
            office_id,
            account,
            category,
            "phone",
            urgent,
            received,
            day,
            closed,
            None if closed is None else days_between(received, closed),
            None if closed is None else micros_between(received, closed),
            excluded,
            None,
            None if closed is None else "fixed",
            None,
            None,
            1,
            now,
            now,
        )


# --- loading ------------------------------------------------------------------------------


def _migrate(url: str) -> None:
    env = dict(os.environ, KAMCRM_DATABASE_URL=url, KAMCRM_INSTANCE_PATH=str(OUT / "instance"))
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "kamcrm", "db", "upgrade", "heads"],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
    )


def _sqlite_value(value):
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).replace(tzinfo=None).isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return int(value)
    return value


def _chunks(rows, size=50_000):
    chunk = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def load_sqlite(path: Path, accounts: int, activities: int, complaints: int = 0) -> None:
    """Create ``path`` with the schema and the world."""
    path.unlink(missing_ok=True)
    _migrate(f"sqlite:///{path}")
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA synchronous=OFF")
    connection.execute("BEGIN")
    for table, columns, rows in generate(accounts, activities, complaints):
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        for chunk in _chunks(rows):
            connection.executemany(sql, [tuple(_sqlite_value(v) for v in row) for row in chunk])
    connection.execute("COMMIT")
    connection.execute("ANALYZE")
    connection.close()


def postgres_url(database: str = POSTGRES_DATABASE) -> str:
    import sqlalchemy as sa

    return sa.make_url(POSTGRES_SERVER).set(database=database).render_as_string(hide_password=False)


def load_postgres(accounts: int, activities: int, complaints: int = 0) -> None:
    """(Re)create database ``kamcrm_bench`` with the schema and the world, loaded by COPY."""
    import psycopg
    import sqlalchemy as sa

    from kamcrm.throwaway import new_database

    new_database(POSTGRES_SERVER, name=POSTGRES_DATABASE)
    url = postgres_url()
    _migrate(url)
    dsn = sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn) as connection:
        with connection.cursor() as cursor:
            for table, columns, rows in generate(accounts, activities, complaints):
                with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
                )
        connection.commit()
        connection.autocommit = True
        connection.execute("VACUUM ANALYZE")


# --- measuring (in a child process) ----------------------------------------------------------


def _interleaved_medians(functions: dict, runs: int) -> dict:
    """Return the median wall and CPU seconds of each function over ``runs`` rounds.

    The functions run in turn within each round (after one warm-up round), so a load that
    comes and goes on the machine weighs on the report and its floor alike. CPU seconds
    are this process's (``time.process_time``): the whole cost for SQLite, only the
    client's share for PostgreSQL.
    """
    for function in functions.values():
        function()
    wall = {name: [] for name in functions}
    cpu = {name: [] for name in functions}
    for _ in range(runs):
        for name, function in functions.items():
            started, started_cpu = time.perf_counter(), time.process_time()
            function()
            wall[name].append(time.perf_counter() - started)
            cpu[name].append(time.process_time() - started_cpu)
    return {
        **{f"{name}_s": statistics.median(values) for name, values in wall.items()},
        **{f"{name}_cpu_s": statistics.median(values) for name, values in cpu.items()},
    }


def measure(url: str, runs: int, explain: bool) -> dict:
    """Time the reports and the floor against ``url``; return the figures."""
    import sqlalchemy as sa

    from kamcrm import create_app
    from kamcrm.compliance.complaints import complaint_rows
    from kamcrm.compliance.engine import COLUMNS, column_ends, cr2_report
    from kamcrm.extensions import db
    from kamcrm.org.scope import office_scope, region_scope

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"})
    as_of = date(YEAR, 12, 31)
    with app.app_context():
        region = region_scope()
        office = office_scope("O01")  # a class 1 office with one branch
        floor = sa.text(
            "SELECT account_id, type, COUNT(*) FROM activities "
            "WHERE status = 'done' AND activity_date BETWEEN :start AND :end GROUP BY account_id, type"
        )
        office_floor = sa.text(
            "SELECT a.account_id, a.type, COUNT(*) FROM activities a JOIN accounts c ON c.id = a.account_id "
            "WHERE c.office_id IN (SELECT id FROM offices WHERE id = :office OR parent_id = :office) "
            "AND a.status = 'done' AND a.activity_date BETWEEN :start AND :end GROUP BY a.account_id, a.type"
        )
        window = {"start": date(YEAR, 1, 1), "end": as_of}

        def run_floor():
            return db.session.execute(floor, window).all()

        def run_office_floor():
            return db.session.execute(office_floor, {**window, "office": office.office_id}).all()

        figures = _interleaved_medians(
            {
                "floor_region": run_floor,
                "region": lambda: cr2_report(YEAR, as_of, region),
                "floor_office": run_office_floor,
                "office": lambda: cr2_report(YEAR, as_of, office),
                "complaints_region": lambda: complaint_rows(
                    region, YEAR, as_of, COLUMNS, column_ends(YEAR, as_of)
                ),
                "complaints_office": lambda: complaint_rows(
                    office, YEAR, as_of, COLUMNS, column_ends(YEAR, as_of)
                ),
            },
            runs,
        )
        figures["activities_in_year"] = db.session.execute(
            sa.text("SELECT COUNT(*) FROM activities WHERE activity_date BETWEEN :start AND :end"),
            window,
        ).scalar()
        figures["complaints_in_year"] = db.session.execute(
            sa.text("SELECT COUNT(*) FROM complaints WHERE received_on BETWEEN :start AND :end"),
            window,
        ).scalar()
        figures["load_average"] = os.getloadavg()[0]
        if explain:
            figures["plans"] = _plans(url)
    figures["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    figures["region_ratio"] = figures["region_s"] / figures["floor_region_s"]
    figures["office_ratio"] = figures["office_s"] / figures["floor_office_s"]
    return figures


def _plans(url: str) -> list[str]:
    """Return the plan of every statement cr2_report runs (EXPLAIN QUERY PLAN / EXPLAIN)."""
    import sqlalchemy as sa

    from kamcrm.compliance.engine import cr2_report
    from kamcrm.extensions import db
    from kamcrm.org.scope import region_scope

    statements = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        statements.append((statement, parameters))

    engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", capture)
    cr2_report(YEAR, date(YEAR, 12, 31), region_scope())
    sa.event.remove(engine, "before_cursor_execute", capture)
    plans = []
    prefix = "EXPLAIN QUERY PLAN " if url.startswith("sqlite") else "EXPLAIN (ANALYZE, COSTS OFF) "
    with engine.connect() as connection:
        for statement, parameters in statements:
            if statement.lstrip().upper().startswith("SET"):
                connection.exec_driver_sql(statement, parameters)  # the engine's own settings
            if not statement.lstrip().upper().startswith(("SELECT", "WITH")):
                continue
            rows = connection.exec_driver_sql(prefix + statement, parameters).all()
            plans.append(
                statement.split("\n")[0][:80]
                + "\n"
                + "\n".join("  " + " ".join(map(str, r)) for r in rows)
            )
    return plans


def child(argv: list[str]) -> int:
    """Entry of the measuring process: print the figures as JSON."""
    url, runs, explain = argv[0], int(argv[1]), argv[2] == "1"
    print(json.dumps(measure(url, runs, explain)))
    return 0


# --- driver ----------------------------------------------------------------------------------


def _ensure(kind: str, accounts: int, activities: int, rebuild: bool, complaints: int = 0) -> str:
    manifest = OUT / (
        f"{kind}-{accounts}-{activities}.json" if kind == "sqlite" else f"{kind}.json"
    )
    wanted = {"accounts": accounts, "activities": activities, "year": YEAR, "version": 1}
    if complaints:
        wanted["complaints"] = complaints
    fresh = not rebuild and manifest.exists() and json.loads(manifest.read_text()) == wanted
    path = OUT / f"cr2-{accounts}-{activities}.sqlite"
    url = f"sqlite:///{path}" if kind == "sqlite" else postgres_url()
    if not (fresh and (path.exists() if kind == "sqlite" else _postgres_exists())):
        started = time.perf_counter()
        if kind == "sqlite":
            load_sqlite(path, accounts, activities, complaints)
        else:
            load_postgres(accounts, activities, complaints)
        print(f"  {kind}: loaded in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    else:
        # Data kept from an earlier run: bring its schema up to date (new indexes) first.
        _migrate(url)
        _analyze(url)
    manifest.write_text(json.dumps(wanted))
    return url


def _analyze(url: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.exec_driver_sql("ANALYZE")
    engine.dispose()


def _postgres_exists() -> bool:
    import sqlalchemy as sa

    admin = sa.create_engine(POSTGRES_SERVER)
    with admin.connect() as connection:
        found = connection.execute(
            sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": POSTGRES_DATABASE}
        ).scalar()
    admin.dispose()
    return bool(found)


def _checkout(ref: str) -> tuple[str, Path]:
    """Return ``(short commit, directory)`` holding the files of git revision ``ref``."""
    commit = subprocess.run(
        ["git", "rev-parse", "--short", ref], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    target = ROOT / "bench" / "out" / f"code-{commit}"
    if not (target / "kamcrm" / "__init__.py").exists():
        target.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(
            ["git", "archive", commit], cwd=ROOT, capture_output=True, check=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    return commit, target


def _before_copy(kind: str, url: str, code: Path) -> str:
    """Copy the database at ``url`` and take the copy down to the migration head of ``code``."""
    import shutil

    import sqlalchemy as sa

    head = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "kamcrm", "db", "heads"],
        cwd=code,
        env=dict(
            os.environ,
            KAMCRM_DATABASE_URL=url,
            PYTHONPATH=str(code),
            KAMCRM_INSTANCE_PATH=str(OUT / "instance"),
        ),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()[0]
    if kind == "sqlite":
        source = Path(sa.make_url(url).database)
        copy = source.with_name(source.stem + "-before.sqlite")
        shutil.copyfile(source, copy)
        copy_url = f"sqlite:///{copy}"
    else:
        name = POSTGRES_DATABASE + "_before"
        admin = sa.create_engine(POSTGRES_SERVER, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            connection.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{POSTGRES_DATABASE}"')
        admin.dispose()
        copy_url = postgres_url(name)
    env = dict(os.environ, KAMCRM_DATABASE_URL=copy_url, KAMCRM_INSTANCE_PATH=str(OUT / "instance"))
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "kamcrm", "db", "downgrade", head],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    _analyze(copy_url)
    return copy_url


def _child(url: str, runs: int, explain: bool, code: Path = ROOT) -> dict:
    env = dict(os.environ, KAMCRM_INSTANCE_PATH=str(OUT / "instance"))
    if code != ROOT:
        env["PYTHONPATH"] = str(code)
    process = subprocess.run(
        [sys.executable, "-m", "bench", "cr2", "--child", url, str(runs), "1" if explain else "0"],
        cwd=code,
        capture_output=True,
        text=True,
        env=env,
    )
    if process.returncode != 0:
        print(process.stderr, file=sys.stderr)
        raise SystemExit(1)
    return json.loads(process.stdout.strip().splitlines()[-1])


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench cr2", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--activities", type=int, default=2_000_000)
    parser.add_argument(
        "--complaints", type=int, default=200_000, help="complaints over the two years (SPEC 8)"
    )
    parser.add_argument(
        "--runs", type=int, default=5, help="timed runs per figure (median), after one warm-up"
    )
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument(
        "--rebuild", action="store_true", help="regenerate the data even if it matches"
    )
    parser.add_argument(
        "--explain", action="store_true", help="print the query plans of the region's report"
    )
    parser.add_argument(
        "--before", metavar="REF", help="also measure git revision REF, on a copy of each database"
    )
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(args.child)
    OUT.mkdir(parents=True, exist_ok=True)
    before = _checkout(args.before) if args.before else None
    results = {}
    for kind in args.databases.split(","):
        print(
            f"{kind}: preparing {args.accounts:,} accounts, {args.activities:,} activities",
            file=sys.stderr,
        )
        url = _ensure(kind, args.accounts, args.activities, args.rebuild, args.complaints)
        if before:
            commit, code = before
            results[f"{kind} at {commit}"] = _child(
                _before_copy(kind, url, code), args.runs, False, code
            )
        results[kind] = _child(url, args.runs, args.explain)
        for plan in results[kind].pop("plans", []):
            print(plan, file=sys.stderr)
    (OUT / "results.json").write_text(json.dumps(results, indent=2))
    print(
        f"\nCR2 for {YEAR}, {args.accounts:,} accounts, {args.activities:,} activities and "
        f"{args.complaints:,} complaints over two years; median of {args.runs} runs\n"
    )
    print(
        "| database | region CR2 | floor | ratio | office CR2 | office floor | ratio | peak memory | load avg |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    failed = False
    for kind, r in results.items():
        print(
            f"| {kind} | {r['region_s']:.3f} s | {r['floor_region_s']:.3f} s | {r['region_ratio']:.2f}× "
            f"| {r['office_s']:.3f} s | {r['floor_office_s']:.3f} s | {r['office_ratio']:.2f}× | {r['peak_mb']:.0f} MB "
            f"| {r['load_average']:.1f} |"
        )
        if " at " in kind:
            continue  # the code before, for comparison
        failed |= (
            r["region_s"] > GOALS["region_s"]
            or r["office_s"] > GOALS["office_s"]
            or r["peak_mb"] > GOALS["peak_mb"]
        )
    print("\n| database | complaints in the year | plan 2 rows, region | plan 2 rows, office |")
    print("|---|---|---|---|")
    for kind, r in results.items():
        print(
            f"| {kind} | {r['complaints_in_year']:,} | {r['complaints_region_s']:.3f} s | {r['complaints_office_s']:.3f} s |"
        )
    print(
        f"\ngoals: region ≤ {GOALS['region_s']} s, office ≤ {GOALS['office_s']} s, "
        f"ratio to the floor ≤ {GOALS['ratio']}×, peak memory ≤ {GOALS['peak_mb']} MB"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
