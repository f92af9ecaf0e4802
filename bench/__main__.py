"""Run benchmarks: ``python -m bench`` runs all, ``python -m bench NAME [options]`` one,
``python -m bench --list`` lists them.

Benchmarks are not part of the test run. Each entry maps a name to ``module:function``;
the function takes the remaining command-line arguments. Add yours to ``BENCHMARKS``.
"""

from __future__ import annotations

import importlib
import sys

#: name → (``module:function``, one line saying what it measures)
BENCHMARKS = {
    "import": (
        "bench.import_bench:main",
        "flask import activities: 1,000,000 rows into SQLite and PostgreSQL",
    ),
    "consumption": (
        "bench.consumption_bench:main",
        "flask import consumption: 100,000 accounts x 36 months into SQLite",
    ),
    "pages": (
        "bench.pages_bench:main",
        "server time of each main page for each role on the demo region",
    ),
    "api": (
        "bench.api_load:main",
        "the JSON API under load: gunicorn -w 4, PostgreSQL, 100,000 accounts",
    ),
    "write-profile": (
        "bench.write_profile:main",
        "CPU of one POST /activities in process (Flask test client), with cProfile",
    ),
    "faults": (
        "bench.fault_bench:main",
        "PostgreSQL restarted under a write load: 201 or 503 only, 0 acknowledged writes lost",
    ),
    "hostile": (
        "bench.hostile_bench:main",
        "the import refusing hostile files: huge, zip bombs, long strings, wide rows",
    ),
    "cr2": (
        "bench.cr2_bench:main",
        "CR2 report on 100,000 accounts / 2,000,000 activities vs the one-query floor",
    ),
    "startup": (
        "bench.startup_bench:main",
        "flask --app kamcrm --help vs python -c 'import flask, sqlalchemy'",
    ),
}


def run(name: str, argv: list[str]) -> int:
    """Run benchmark ``name`` with ``argv``; return its exit status."""
    module_name, function_name = BENCHMARKS[name][0].split(":")
    return getattr(importlib.import_module(module_name), function_name)(argv) or 0


def main(argv: list[str]) -> int:
    if argv and argv[0] in ("-h", "--help", "--list"):
        print("usage: python -m bench [NAME [options]]   (python -m bench NAME --help)\n")
        for name, (_, what) in BENCHMARKS.items():
            print(f"  {name:<12} {what}")
        return 0
    if not argv:
        return max((run(name, []) for name in BENCHMARKS), default=0)
    name, rest = argv[0], argv[1:]
    if name not in BENCHMARKS:
        print(f"unknown benchmark {name!r}; known: {', '.join(BENCHMARKS)}", file=sys.stderr)
        return 2
    return run(name, rest)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
