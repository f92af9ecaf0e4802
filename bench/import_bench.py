"""Benchmark ``flask import activities`` (or ``tiers``) on a fresh SQLite file and a fresh PostgreSQL database.

The generator writes a region (offices, users, ``--accounts`` accounts) and ``--rows``
activities (with ``--kind tiers``: ``--rows`` tier rows) to CSV files under ``bench/out/``
(kept between runs; same options, same files). The runner migrates an empty database, loads
the region with the import command, then times the chosen import in its own process: wall
time, rows per second and the child's peak resident memory (``ru_maxrss`` from ``os.wait4``).

    python -m bench import [--kind activities|tiers] [--rows 1000000] [--accounts 100000] [--databases sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import subprocess
import sys
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
POSTGRES_URL = os.environ.get(
    "KAMCRM_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1/postgres"
)
BANGKOK = timezone(timedelta(hours=7))

TYPES = ("FMS", "RBA", "COM", "EXV", "SEM", "PLN", "BOI")
TYPE_WEIGHTS = (8, 12, 60, 8, 4, 4, 4)
EXEC_ROLES = ("region_director", "assistant_director", "office_manager")
CHANNELS = ("visit", "phone", "email", "line", "letter", "meeting", "online")
TIERS = ("STRATEGIC", "STAR", "STATUS", "STREAMLINE")


def generate(rows: int, accounts: int, year: int, folder: Path) -> dict[str, Path]:
    """Write the region and ``rows`` activities as CSV into ``folder``; return the files by kind."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        kind: folder / f"{kind}.csv" for kind in ("offices", "users", "accounts", "activities")
    }
    manifest = folder / "manifest.json"
    wanted = {"rows": rows, "accounts": accounts, "year": year, "version": 1}
    if (
        manifest.exists()
        and json.loads(manifest.read_text()) == wanted
        and all(p.exists() for p in files.values())
    ):
        return files
    rng = random.Random(f"bench-{rows}-{accounts}-{year}")
    offices = [f"O{n:02d}" for n in range(1, 21)]
    branches = [(f"{office}B{k}", office) for office in offices for k in (1, 2)]
    with files["offices"].open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(["code", "name", "office_class", "parent_code"])
        out.writerow(["R2", "การไฟฟ้าส่วนภูมิภาค เขต 2 (ภาคกลาง)", "region", ""])
        for n, office in enumerate(offices):
            out.writerow([office, f"กฟฟ. ทดสอบ {office}", str(1 + n % 3), "R2"])
        for code, parent in branches:
            out.writerow([code, f"กฟส. ทดสอบ {code}", "branch", parent])
    units = offices + [code for code, _ in branches]
    kamrs = {unit: [f"kamr.{unit.lower()}.{k}" for k in range(1, 6)] for unit in units}
    managers = {office: f"manager.{office.lower()}" for office in offices}
    with files["users"].open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(["username", "full_name", "role", "office_code", "exec_role", "email"])
        out.writerow(["director", "ผู้อำนวยการเขต", "executive", "R2", "region_director", ""])
        for k in range(1, 4):
            out.writerow(
                [f"assistant{k}", f"ผู้ช่วยผู้อำนวยการ {k}", "executive", "R2", "assistant_director", ""]
            )
        for office, username in managers.items():
            out.writerow(
                [username, f"ผู้จัดการ {office}", "office_manager", office, "office_manager", ""]
            )
        for unit, names in kamrs.items():
            for username in names:
                out.writerow(
                    [username, f"พนักงาน {username}", "kamr", unit, "", f"{username}@example.com"]
                )
    account_rows = []
    with files["accounts"].open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(
            [
                "account_no",
                "name",
                "office_code",
                "tier",
                "tier_effective_from",
                "kamr_username",
                "transformer_kva",
                "monthly_revenue_thb",
                "boi",
                "opened_on",
            ]
        )
        for n in range(accounts):
            unit = rng.choice(units)
            kamr = rng.choice(kamrs[unit])
            number = f"02{n:010d}"
            tier = TIERS[min(3, int(rng.random() ** 3 * 4))] if n >= 543 else TIERS[n % 3]
            out.writerow(
                [
                    number,
                    f"บริษัท ทดสอบ {n} จำกัด",
                    unit,
                    tier,
                    "",
                    kamr,
                    rng.randint(250, 20000),
                    rng.randint(50, 5000) * 1000,
                    "1" if rng.random() < 0.2 else "0",
                    "2015-01-01",
                ]
            )
            account_rows.append((number, unit, kamr))
    parent_of = {code: parent for code, parent in branches}
    start = date(year, 1, 1)
    with files["activities"].open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(
            [
                "account_no",
                "type",
                "activity_date",
                "performed_by",
                "status",
                "channel",
                "exec_role",
                "summary",
                "ref",
                "recorded_at",
            ]
        )
        types = rng.choices(TYPES, TYPE_WEIGHTS, k=rows)
        for n in range(rows):
            number, unit, kamr = account_rows[rng.randrange(accounts)]
            kind = types[n]
            day = start + timedelta(days=rng.randrange(365))
            exec_role, performer = "", kamr
            if kind == "EXV":
                exec_role = rng.choice(EXEC_ROLES)
                performer = {
                    "region_director": "director",
                    "assistant_director": f"assistant{rng.randint(1, 3)}",
                    "office_manager": managers[parent_of.get(unit, unit)],
                }[exec_role]
            recorded = datetime(
                day.year, day.month, day.day, rng.randint(8, 18), rng.randint(0, 59), tzinfo=BANGKOK
            ) + timedelta(days=rng.choice((0, 0, 1, 2, 3, 7, 20, 40)))
            status = "done" if rng.random() < 0.93 else rng.choice(("planned", "cancelled"))
            out.writerow(
                [
                    number,
                    kind,
                    day.isoformat(),
                    performer,
                    status,
                    rng.choice(CHANNELS),
                    exec_role,
                    f"กิจกรรม {kind} ครั้งที่ {n}",
                    f"B{n:09d}",
                    recorded.isoformat(),
                ]
            )
    manifest.write_text(json.dumps(wanted))
    return files


def generate_tiers(rows: int, year: int, folder: Path) -> Path:
    """Write ``rows`` tier rows over the accounts of ``folder`` (from ``generate``); return the file.

    Of every ten rows eight give an account a tier from a new date in ``year`` (a new
    assignment), one changes the tier of its assignment from ``opened_on`` and one repeats
    that assignment unchanged.
    """
    path = folder / f"tiers-{rows}.csv"
    if path.exists():
        return path
    with (folder / "accounts.csv").open(newline="", encoding="utf-8") as handle:
        accounts = [
            (row["account_no"], row["tier"], row["opened_on"]) for row in csv.DictReader(handle)
        ]
    rng = random.Random(f"bench-tiers-{rows}-{len(accounts)}-{year}")
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(["account_no", "tier", "effective_from"])
        for n in range(rows):
            number, tier, opened_on = accounts[n % len(accounts)]
            share = n % 10
            if share == 8:
                out.writerow([number, rng.choice([t for t in TIERS if t != tier]), opened_on])
            elif share == 9:
                out.writerow([number, tier, opened_on])
            else:
                day = date(year, 7, 1) + timedelta(days=n // len(accounts))
                out.writerow([number, rng.choice(TIERS), day.isoformat()])
    return path


def _flask(args: list[str], env: dict[str, str]) -> tuple[float, float, int, str]:
    """Run ``flask --app kamcrm ARGS`` in a child; return (wall seconds, CPU seconds, peak RSS
    in KiB, output). CPU time shows the cost when other work shares the machine."""
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "kamcrm", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise RuntimeError(f"flask {' '.join(args)} failed:\n{output}")
    return seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, output


def _fresh_database(kind: str) -> tuple[str, callable]:
    """Return the URL of a new empty database and a function that removes it."""
    if kind == "sqlite":
        path = OUT / "bench.sqlite"
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        return f"sqlite:///{path}", lambda: None
    from kamcrm.throwaway import new_database

    return new_database(POSTGRES_URL, "kamcrm_bench_")


def run(database: str, files: dict[str, Path], rows: int, kind: str = "activities") -> dict:
    """Load the region into a fresh ``database`` and time the import of ``kind``."""
    url, drop = _fresh_database(database)
    env = {**os.environ, "KAMCRM_DATABASE_URL": url, "KAMCRM_INSTANCE_PATH": str(OUT / "instance")}
    try:
        _flask(["db", "upgrade", "heads"], env)
        region = {}
        for loaded in ("offices", "users", "accounts"):
            region[loaded] = _flask(["import", loaded, str(files[loaded])], env)[0]
        seconds, cpu, peak_kib, output = _flask(["import", kind, str(files[kind])], env)
    finally:
        drop()
    return {
        "database": database,
        "rows": rows,
        "seconds": seconds,
        "cpu": cpu,
        "rows_per_second": rows / seconds,
        "peak_rss_mib": peak_kib / 1024,
        "accounts_seconds": region["accounts"],
        "summary": output.strip().splitlines()[-1],
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench import", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--kind",
        choices=("activities", "tiers"),
        default="activities",
        help="the import timed (default activities)",
    )
    parser.add_argument(
        "--rows", type=int, default=1_000_000, help="rows of that file (default 1,000,000)"
    )
    parser.add_argument("--accounts", type=int, default=100_000, help="accounts (default 100,000)")
    parser.add_argument(
        "--year", type=int, default=2025, help="year the activities fall in (default 2025)"
    )
    parser.add_argument(
        "--databases", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql"
    )
    options = parser.parse_args(argv)
    started = time.perf_counter()
    if options.kind == "tiers":
        folder = OUT / f"data-0-{options.accounts}"
        files = generate(0, options.accounts, options.year, folder)
        files["tiers"] = generate_tiers(options.rows, options.year, folder)
    else:
        files = generate(
            options.rows,
            options.accounts,
            options.year,
            OUT / f"data-{options.rows}-{options.accounts}",
        )
    timed = files[options.kind]
    print(
        f"data: {timed} ({timed.stat().st_size / 2**20:.0f} MiB, "
        f"ready in {time.perf_counter() - started:.1f} s)"
    )
    print(
        f"{'database':<11} {'rows':>10} {'wall s':>8} {'CPU s':>7} {'rows/s':>9} {'peak RSS':>9}   "
        "(accounts import)"
    )
    for database in options.databases.split(","):
        figures = run(database.strip(), files, options.rows, options.kind)
        print(
            f"{figures['database']:<11} {figures['rows']:>10,} {figures['seconds']:>8.1f} {figures['cpu']:>7.1f} "
            f"{figures['rows_per_second']:>9,.0f} {figures['peak_rss_mib']:>7.0f} MiB   "
            f"({options.accounts:,} in {figures['accounts_seconds']:.1f} s)",
            flush=True,
        )
        print(f"            {figures['summary']}", flush=True)
    return 0
