"""PostgreSQL restarted under a write load: every answer is 201 or 503, no acknowledged write
is lost, and kamcrm recovers on its own.

1. A throwaway PostgreSQL cluster (``initdb`` as the ``postgres`` user, in a temporary
   folder, on ``--pg-port``; the machine's own server is never touched) gets a kamcrm
   database filled as ``bench/api_load.py`` fills its own (``--accounts`` accounts).
2. gunicorn (``--workers`` workers × ``--threads`` threads) serves it on 127.0.0.1.
3. ``--clients`` threads each send ``POST /api/v1/activities`` one after the other for
   ``--seconds``, every body carrying a unique summary. ``--restart-at`` seconds in, the
   cluster is restarted (``pg_ctl restart -m fast``: open connections are cut).
4. Afterwards every acknowledged write (201 with an id) is looked up, and so is every summary
   sent, so a write that was stored though its answer said otherwise shows too.
5. gunicorn and the cluster are stopped and the folder removed.

    python -m bench faults [--seconds 20] [--restart-at 6] [--clients 16]

Exit status 1 when an acknowledged write is missing, any answer is neither 201 nor 503 (a
500, or no answer), a 503 lacks Retry-After, or no write succeeds after the restart.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import pwd
import random
import shutil
import subprocess
import tempfile
import threading
import time
from datetime import date, timedelta
from pathlib import Path

import sqlalchemy as sa

from bench.api_load import fill, fresh_database, start_gunicorn, stop_gunicorn

PG_BIN = (
    Path("/usr/lib/postgresql")
    / (
        sorted(os.listdir("/usr/lib/postgresql"))[-1]
        if os.path.isdir("/usr/lib/postgresql")
        else "15"
    )
    / "bin"
)
DATABASE = "kamcrm_faultbench"


# --- the throwaway cluster -----------------------------------------------------------------


class Cluster:
    """A PostgreSQL cluster of the bench's own, run as the ``postgres`` user."""

    def __init__(self, port: int):
        self.port = port
        self.folder = Path(tempfile.mkdtemp(prefix="kamcrm-faultbench-"))
        self.data = self.folder / "data"
        account = pwd.getpwnam("postgres")
        os.chown(self.folder, account.pw_uid, account.pw_gid)
        self._as_postgres(
            [
                str(PG_BIN / "initdb"),
                "-D",
                str(self.data),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
                "-E",
                "UTF8",
                "--locale",
                "C",
            ]
        )

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _as_postgres(self, command: list[str]) -> None:
        prefix = (
            []
            if os.geteuid() == pwd.getpwnam("postgres").pw_uid
            else ["runuser", "-u", "postgres", "--"]
        )
        subprocess.run(
            prefix + command,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=self.folder,
        )

    def _pg_ctl(self, *args: str) -> None:
        options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c max_connections=100"
        )
        self._as_postgres(
            [
                str(PG_BIN / "pg_ctl"),
                "-D",
                str(self.data),
                "-l",
                str(self.folder / "log"),
                "-w",
                "-o",
                options,
                *args,
            ]
        )

    def start(self) -> None:
        self._pg_ctl("start")

    def restart(self) -> None:
        """Stop with ``-m fast`` (every session is cut) and start again; wait for both."""
        self._pg_ctl("-m", "fast", "restart")

    def stop(self) -> None:
        try:
            self._pg_ctl("-m", "immediate", "stop")
        except subprocess.CalledProcessError:
            pass  # not running

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


# --- the load ------------------------------------------------------------------------------


class Outcomes:
    """What every request got back, with the moment its answer came (thread-safe)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.rows: list[
            tuple[float, int, str, int | None, bool]
        ] = []  # (t, status, summary, id, retry-after)

    def add(self, *row) -> None:
        with self.lock:
            self.rows.append(row)


def _writer(
    port: int,
    token: str,
    accounts: list[str],
    deadline: float,
    outcomes: Outcomes,
    seed: int,
    started: float,
) -> None:
    rng = random.Random(seed)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    n = 0
    while time.monotonic() < deadline:
        n += 1
        summary = f"fault-bench {seed}-{n}"
        body = json.dumps(
            {
                "account_no": rng.choice(accounts),
                "type": "COM",
                "channel": "phone",
                "activity_date": (date.today() - timedelta(days=rng.randrange(60))).isoformat(),
                "summary": summary,
            }
        )
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        try:
            connection.request("POST", "/api/v1/activities", body, headers)
            answer = connection.getresponse()
            payload = answer.read()
            status, retry_after = answer.status, answer.getheader("Retry-After") is not None
        except (OSError, http.client.HTTPException):
            connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            status, payload, retry_after = 0, b"", False
        written = json.loads(payload)["id"] if status == 201 else None
        outcomes.add(time.monotonic() - started, status, summary, written, retry_after)
        if status == 503:
            time.sleep(
                0.2
            )  # a polite client waits; Retry-After asks for more, the bench keeps it short
    connection.close()


def run_load(options, keys: dict, cluster: Cluster) -> tuple[Outcomes, dict]:
    outcomes = Outcomes()
    started = time.monotonic()
    deadline = started + options.seconds
    code = sorted(keys["kamrs"])[0]
    threads = [
        threading.Thread(
            target=_writer,
            args=(
                options.port,
                keys["kamrs"][code][i % len(keys["kamrs"][code])],
                keys["accounts"][code],
                deadline,
                outcomes,
                i,
                started,
            ),
        )
        for i in range(options.clients)
    ]
    for thread in threads:
        thread.start()
    time.sleep(options.restart_at)
    restart = {"began": time.monotonic() - started}
    cluster.restart()
    restart["ended"] = time.monotonic() - started
    for thread in threads:
        thread.join()
    return outcomes, restart


def verdict(outcomes: Outcomes, restart: dict, database_url: str) -> dict:
    rows = outcomes.rows
    statuses: dict[int, int] = {}
    for _, status, *_ in rows:
        statuses[status] = statuses.get(status, 0) + 1
    acknowledged = [written for _, status, _, written, _ in rows if status == 201]
    engine = sa.create_engine(database_url)
    with engine.connect() as connection:
        found = connection.execute(
            sa.text("SELECT count(*) FROM activities WHERE id = ANY(:ids)"), {"ids": acknowledged}
        ).scalar_one()
        refused = [summary for _, status, summary, _, _ in rows if status != 201]
        stored_anyway = connection.execute(
            sa.text("SELECT count(*) FROM activities WHERE summary = ANY(:s)"), {"s": refused}
        ).scalar_one()
    engine.dispose()
    after = [t for t, status, *_ in rows if status == 201 and t > restart["ended"]]
    first_ok = min(after) if after else None
    last_error = max((t for t, status, *_ in rows if status != 201), default=None)
    return {
        "requests": len(rows),
        "statuses": dict(sorted(statuses.items())),
        "acknowledged": len(acknowledged),
        "acknowledged_found": found,
        "lost": len(acknowledged) - found,
        "refused_but_stored": stored_anyway,
        "503_without_retry_after": sum(1 for _, s, _, _, r in rows if s == 503 and not r),
        "restart_s": (restart["began"], restart["ended"]),
        "first_201_after_restart_s": None
        if first_ok is None
        else round(first_ok - restart["ended"], 3),
        "last_non_201_s": None if last_error is None else round(last_error, 3),
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench faults", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--accounts", type=int, default=2_000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--restart-at", type=float, default=6.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--port", type=int, default=8767)
    parser.add_argument("--pg-port", type=int, default=55433)
    options = parser.parse_args(argv)
    if not 0 < options.restart_at < options.seconds:
        parser.error("--restart-at must fall inside --seconds")

    cluster = Cluster(options.pg_port)
    server = None
    try:
        cluster.start()
        database_url = fresh_database(cluster.url, DATABASE)
        instance = tempfile.mkdtemp(prefix="kamcrm-faultbench-instance-")
        keys = fill(database_url, options.accounts, instance)
        server = start_gunicorn(
            database_url, options.port, options.workers, instance, options.threads
        )
        outcomes, restart = run_load(options, keys, cluster)
        result = verdict(outcomes, restart, database_url)
    finally:
        if server is not None:
            stop_gunicorn(server)
        cluster.stop()
        cluster.remove()
    print(
        f"PostgreSQL restarted {result['restart_s'][0]:.2f}–{result['restart_s'][1]:.2f} s into a "
        f"{options.seconds:g} s write load ({options.clients} clients, gunicorn {options.workers}×"
        f"{options.threads})"
    )
    print(f"  requests {result['requests']}, answers {result['statuses']}")
    print(
        f"  acknowledged {result['acknowledged']}, found {result['acknowledged_found']}, "
        f"lost {result['lost']}; refused but stored {result['refused_but_stored']}"
    )
    print(
        f"  503 without Retry-After {result['503_without_retry_after']}; first 201 "
        f"{result['first_201_after_restart_s']} s after the restart ended; last non-201 at "
        f"{result['last_non_201_s']} s"
    )
    bad = set(result["statuses"]) - {201, 503}
    failed = (
        result["lost"]
        or bad
        or result["503_without_retry_after"]
        or result["first_201_after_restart_s"] is None
    )
    return 1 if failed else 0
