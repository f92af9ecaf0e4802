"""Where the CPU of one ``POST /api/v1/activities`` goes, in process (no server, no network).

The database is filled as for ``python -m bench api`` (fewer accounts by default), then the
Flask test client sends ``--requests`` writes as KAMRs on their office's accounts, exactly the
benchmark's bodies. It prints the CPU per write (``time.process_time``: this process only, so
PostgreSQL's own work is not in it) and, with ``--profile``, cProfile's top functions by
cumulative time::

    python -m bench write-profile                       # SQLite (a temporary file)
    python -m bench write-profile --postgres            # PostgreSQL (KAMCRM_BENCH_POSTGRES_URL)
    python -m bench write-profile --profile --requests 2000
    python -m bench write-profile --bulk 100            # the bulk endpoint, 100 items a request
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import random
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from bench.api_load import DATABASE, SERVER_URL, fill, fresh_database
from kamcrm.throwaway import drop_database


def _bodies(keys: dict, count: int, seed: int = 1):
    """(token, body) pairs like ``api_load.post_activities``."""
    rng = random.Random(seed)
    codes = sorted(keys["kamrs"])
    last_year = date.today().year - 1
    for index in range(count):
        code = rng.choice(codes)
        yield (
            rng.choice(keys["kamrs"][code]),
            {
                "account_no": rng.choice(keys["accounts"][code]),
                "type": "COM",
                "channel": "phone",
                "activity_date": (
                    date(last_year, 1, 1) + timedelta(days=rng.randrange(365))
                ).isoformat(),
                "summary": f"bench call {index}",
            },
        )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench write-profile", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL instead of SQLite")
    parser.add_argument("--accounts", type=int, default=5_000)
    parser.add_argument("--requests", type=int, default=3_000)
    parser.add_argument(
        "--bulk", type=int, default=0, help="items per request to /activities/bulk (0: single POST)"
    )
    parser.add_argument("--profile", action="store_true", help="print cProfile's top functions")
    parser.add_argument("--top", type=int, default=45)
    options = parser.parse_args(argv)

    from kamcrm import create_app

    instance = tempfile.mkdtemp(prefix="kamcrm-writeprofile-")
    if options.postgres:
        database_url = fresh_database(SERVER_URL, DATABASE + "_profile")
    else:
        database_url = f"sqlite:///{Path(instance) / 'profile.sqlite'}"
    keys = fill(database_url, options.accounts, instance)
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SECRET_KEY": "bench",
            "TESTING": False,
            "RATELIMIT_ENABLED": False,
        }
    )
    client = app.test_client()
    if options.bulk:
        pairs = list(_bodies(keys, options.requests * options.bulk))
        calls = []
        for start in range(0, len(pairs), options.bulk):
            chunk = pairs[start : start + options.bulk]
            # One token per request: the bulk items are the caller's own office's.
            token = chunk[0][0]
            code = next(code for code, tokens in keys["kamrs"].items() if token in tokens)
            items = [
                {**body, "account_no": random.Random(start + n).choice(keys["accounts"][code])}
                for n, (_token, body) in enumerate(chunk)
            ]
            calls.append(("/api/v1/activities/bulk", token, {"items": items}))
    else:
        calls = [
            ("/api/v1/activities", token, body) for token, body in _bodies(keys, options.requests)
        ]
    headers = {"Content-Type": "application/json"}
    # Warm up: compiled statements, the caches of the first calls.
    for path, token, body in calls[:20]:
        client.post(
            path, data=json.dumps(body), headers={**headers, "Authorization": f"Bearer {token}"}
        )
    calls = calls[20:]
    # CPU time, not wall time: waiting for PostgreSQL is not work of this process.
    profiler = cProfile.Profile(time.process_time) if options.profile else None
    started_cpu, started = time.process_time(), time.perf_counter()
    if profiler:
        profiler.enable()
    statuses: dict[int, int] = {}
    for path, token, body in calls:
        response = client.post(
            path, data=json.dumps(body), headers={**headers, "Authorization": f"Bearer {token}"}
        )
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
    if profiler:
        profiler.disable()
    cpu, wall = time.process_time() - started_cpu, time.perf_counter() - started
    writes = len(calls) * (options.bulk or 1)
    what = f"bulk of {options.bulk}" if options.bulk else "single POST"
    print(
        f"{'PostgreSQL' if options.postgres else 'SQLite'}, {what}: {len(calls)} requests, {writes} activities, "
        f"statuses {statuses}"
    )
    print(
        f"CPU per activity {1000 * cpu / writes:.3f} ms, wall per activity {1000 * wall / writes:.3f} ms"
        + (" (under cProfile: slower than without)" if profiler else "")
    )
    if profiler:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(options.top)
    if options.postgres:
        with app.app_context():
            from kamcrm.extensions import db

            for engine in db.engines.values():
                engine.dispose()
        drop_database(SERVER_URL, DATABASE + "_profile")
    return 0
