"""``flask --app kamcrm import consumption``: 100,000 accounts × 36 months (3,600,000 rows) into
SQLite (goal: under 60 s) and, on request, PostgreSQL.

The region (offices, users, 100,000 accounts) comes from ``bench.import_bench.generate`` and
is imported first; the consumption file is written once to ``bench/out/consumption/`` (kept
for the next run). Each import runs as its own ``flask`` child process, timed whole (start-up,
reading, checking, writing, commit) with its CPU time and peak resident memory.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
from pathlib import Path

from bench.import_bench import OUT, _flask, _fresh_database, generate

FOLDER = OUT / "consumption"


def generate_consumption(accounts: int, months: int, first_year: int, folder: Path) -> Path:
    """Write ``months`` months from January of ``first_year`` for each account; return the file."""
    path = folder / f"consumption-{accounts}-{months}.csv"
    if path.exists():
        return path
    rng = random.Random(f"consumption-{accounts}-{months}")
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(["account_no", "month", "kwh", "peak_kw", "peak_kva", "revenue_thb"])
        for n in range(accounts):
            number = f"02{n:010d}"
            base = rng.uniform(5_000, 2_000_000)
            kw_only = n % 3 == 0
            for index in range(months):
                year, month = first_year + index // 12, index % 12 + 1
                kwh = base * rng.uniform(0.9, 1.1)
                peak = kwh / 730 / rng.uniform(0.3, 0.6)
                out.writerow(
                    [
                        number,
                        f"{year:04d}-{month:02d}",
                        f"{kwh:.2f}",
                        f"{peak:.2f}" if kw_only else "",
                        "" if kw_only else f"{peak / 0.85:.2f}",
                        f"{kwh * 4.2:.2f}",
                    ]
                )
    return path


def run(database: str, region: dict[str, Path], consumption: Path, rows: int) -> dict:
    url, drop = _fresh_database(database)
    # A region's whole history is one 190 MB file: above the 50 MB an import takes by default,
    # so the bench (like an operator loading the history) raises the limit for its run.
    env = {
        **os.environ,
        "KAMCRM_DATABASE_URL": url,
        "KAMCRM_INSTANCE_PATH": str(OUT / "instance"),
        "KAMCRM_IMPORT_MAX_BYTES": str(400 * 1024 * 1024),
    }
    try:
        _flask(["db", "upgrade", "heads"], env)
        for loaded in ("offices", "users", "accounts"):
            _flask(["import", loaded, str(region[loaded])], env)
        seconds, cpu, peak_kib, output = _flask(["import", "consumption", str(consumption)], env)
    finally:
        drop()
    return {
        "database": database,
        "rows": rows,
        "seconds": round(seconds, 1),
        "cpu": round(cpu, 1),
        "rows_per_second": round(rows / seconds),
        "peak_rss_mib": round(peak_kib / 1024),
        "load_average": os.getloadavg()[0],
        "summary": output.strip().splitlines()[-1],
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench consumption", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--accounts", type=int, default=100_000, help="accounts (default 100,000)")
    parser.add_argument("--months", type=int, default=36, help="months per account (default 36)")
    parser.add_argument(
        "--first-year", type=int, default=2023, help="the first month's year (default 2023)"
    )
    parser.add_argument("--databases", default="sqlite", help="comma-separated: sqlite, postgresql")
    args = parser.parse_args(argv)
    FOLDER.mkdir(parents=True, exist_ok=True)
    region = generate(1, args.accounts, args.first_year, FOLDER / f"region-{args.accounts}")
    consumption = generate_consumption(args.accounts, args.months, args.first_year, FOLDER)
    rows = args.accounts * args.months
    for database in args.databases.split(","):
        print(json.dumps(run(database.strip(), region, consumption, rows)), flush=True)
    return 0
