"""Benchmark the pages: server time of each main page for each role on the demo region.

Builds a fresh database (SQLite file by default, ``--database-url`` for PostgreSQL), loads
``flask --app kamcrm seed demo`` into it, then signs in as the first active user of each
role and times every main page with the Flask test client (in process, so the time is the
server's: routing, queries, rendering). Each page is fetched once to warm up, then
``--repeat`` times; the median, 95th percentile and maximum are printed, and the run fails
when a median exceeds ``--budget-ms`` (150).

    python -m bench pages [--repeat 20] [--budget-ms 150] [--database-url URL] [--query year=2026]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: The pages each role works with (paths; ``{account}`` is one account the user sees).
PAGES = {
    "kamr": [
        "/due",
        "/accounts",
        "/accounts?tier=STRATEGIC",
        "/accounts/{account}",
        "/activities/new",
    ],
    "office_manager": [
        "/office/coverage",
        "/office/coverage/accounts?type=COM&tier=STRATEGIC&column=Q1",
        "/office/kamrs",
        "/office/executive-visits",
        "/office/late-entries",
        "/due",
        "/accounts",
    ],
    "executive": ["/region/", "/region/cr2", "/office/executive-visits", "/region/monthly"],
    "regional_staff": [
        "/region/",
        "/region/cr2",
        "/office/coverage",
        "/region/monthly",
        "/region/targets",
        "/region/tiers",
        "/region/quarters",
        "/region/audit",
        "/accounts",
    ],
    "admin": ["/admin/users", "/region/audit"],
}


def _flask(database_url: str, instance: str, *args: str) -> None:
    env = dict(os.environ, KAMCRM_DATABASE_URL=database_url, KAMCRM_INSTANCE_PATH=instance)
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "kamcrm", *args],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def _postgres_database(server_url: str):
    from kamcrm.throwaway import new_database

    return new_database(server_url, "kamcrm_pages_bench_")


def _analyze(database_url: str) -> None:
    """Gather planner statistics, as a database in service has (autovacuum, or a nightly job)."""
    import sqlalchemy as sa

    engine = sa.create_engine(database_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.exec_driver_sql("ANALYZE")
    engine.dispose()


def _sign_in(client, user) -> None:
    from kamcrm.org.sessions import LAST_SEEN_KEY

    with client.session_transaction() as session:
        session["_user_id"] = str(user.id)
        session["_fresh"] = True
        session[LAST_SEEN_KEY] = int(time.time())


def measure(database_url: str, repeat: int, query: str) -> list[dict]:
    """Return one timing row per (role, page)."""
    import sqlalchemy as sa

    from kamcrm import create_app
    from kamcrm.accounts.models import Account
    from kamcrm.accounts.queries import visible_accounts
    from kamcrm.extensions import db
    from kamcrm.org.models import User

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SECRET_KEY": "bench",
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False,
        }
    )
    rows = []
    for role, pages in PAGES.items():
        with app.app_context():
            user = db.session.execute(
                sa.select(User)
                .where(User.role == role, User.active.is_(True))
                .order_by(User.id)
                .limit(1)
            ).scalar_one_or_none()
            if user is None:
                print(f"  (no {role} in the demo region; skipped)")
                continue
            mine = visible_accounts(user)
            if role == "kamr":
                mine = mine.where(Account.kamr_id == user.id)
            account = db.session.execute(mine.order_by(Account.account_no).limit(1)).scalar_one()
            account_no, username = account.account_no, user.username
            db.session.remove()
        client = app.test_client()
        with app.app_context():
            _sign_in(client, db.session.get(User, user.id))
            db.session.remove()
        for page in pages:
            path = page.format(account=account_no)
            if query:
                path += ("&" if "?" in path else "?") + query
            first = client.get(path)
            if first.status_code != 200:
                raise SystemExit(f"{role} {path}: HTTP {first.status_code}")
            times = []
            for _ in range(repeat):
                started = time.perf_counter()
                client.get(path)
                times.append((time.perf_counter() - started) * 1000)
            times.sort()
            rows.append(
                {
                    "role": role,
                    "user": username,
                    "path": path,
                    "median": statistics.median(times),
                    "p95": times[max(0, int(round(0.95 * len(times))) - 1)],
                    "max": times[-1],
                }
            )
    return rows


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench pages", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--budget-ms", type=float, default=150.0)
    parser.add_argument(
        "--database-url", help="PostgreSQL server URL; a fresh database is made and dropped"
    )
    parser.add_argument(
        "--query", default="", help="query string added to every page, e.g. year=2026"
    )
    parser.add_argument(
        "--loaded", metavar="URL", help="time pages on this already loaded database instead"
    )
    options = parser.parse_args(argv)

    if options.loaded:
        return report(measure(options.loaded, options.repeat, options.query), options)

    with tempfile.TemporaryDirectory(prefix="kamcrm-pages-bench-") as instance:
        drop = None
        if options.database_url:
            database_url, drop = _postgres_database(options.database_url)
        else:
            database_url = "sqlite:///" + str(Path(instance) / "bench.sqlite")
        try:
            started = time.perf_counter()
            _flask(database_url, instance, "db", "upgrade", "heads")
            _flask(database_url, instance, "seed", "demo")
            _analyze(database_url)
            print(
                f"demo region loaded into {database_url.split('@')[-1]} in {time.perf_counter() - started:.1f} s"
            )
            rows = measure(database_url, options.repeat, options.query)
        finally:
            if drop is not None:
                drop()
    return report(rows, options)


def report(rows: list[dict], options) -> int:
    """Print the timings; return 1 when a page's median is over budget."""
    print(
        f"\n{'role':<15} {'page':<62} {'median':>8} {'p95':>8} {'max':>8}  (ms, {options.repeat} runs)"
    )
    over = []
    for row in rows:
        flag = "  OVER" if row["median"] > options.budget_ms else ""
        print(
            f"{row['role']:<15} {row['path'][:62]:<62} {row['median']:>8.1f} {row['p95']:>8.1f} "
            f"{row['max']:>8.1f}{flag}"
        )
        if flag:
            over.append(row)
    print(
        f"\n{len(rows) - len(over)} of {len(rows)} pages within {options.budget_ms:.0f} ms (median)"
    )
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
