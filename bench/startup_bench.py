"""Benchmark start-up: ``flask --app kamcrm --help`` against ``python -c "import flask, sqlalchemy"``.

Every ``flask`` command, every gunicorn worker and every test process first builds the
application (``create_app``), so what it imports is paid for every time. The *floor* is
the two libraries kamcrm cannot start without, imported by the same interpreter; each
command is run ``--runs`` times in turn (after one warm-up round that also writes the
bytecode caches, as an installed package has them), and the figure is the median wall
time of a whole process, with its CPU time (user + system, from ``os.wait4``) beside it.

    python -m bench startup [--runs 15] [--before main]

``--before REF`` also measures the code of git revision REF (``git archive`` into
``bench/out/startup/REF``, run with the same interpreter and libraries) in the same rounds,
so the before and after figures come from one run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out" / "startup"
GOAL_S = 0.6
FLASK = str(Path(sys.executable).with_name("flask"))

COMMANDS = {
    "floor": [sys.executable, "-c", "import flask, sqlalchemy"],
    "create_app": [sys.executable, "-c", "import kamcrm; kamcrm.create_app()"],
    "flask --help": [FLASK, "--app", "kamcrm", "--help"],
}


def _checkout(ref: str) -> Path:
    """Return a directory holding the files of git revision ``ref`` (extracted once)."""
    commit = subprocess.run(
        ["git", "rev-parse", "--short", ref], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    target = OUT / f"code-{commit}"
    if not (target / "kamcrm" / "__init__.py").exists():
        target.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(
            ["git", "archive", commit], cwd=ROOT, capture_output=True, check=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    return target


def _run(command: list[str], env: dict, cwd: Path = ROOT) -> tuple[float, float]:
    """Run ``command`` once in ``cwd`` (whose ``kamcrm`` is imported); return wall and CPU seconds."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed: {process.stderr.read().decode()}")
    process.stderr.close()
    return wall, usage.ru_utime + usage.ru_stime


def measure(runs: int, before: str | None = None) -> dict:
    """Return the median wall and CPU seconds of each command over ``runs`` rounds."""
    OUT.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, KAMCRM_INSTANCE_PATH=str(OUT / "instance"))
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # the warm-up round writes the caches once
    env.pop("PYTHONPATH", None)
    cases = {name: (command, ROOT) for name, command in COMMANDS.items()}
    if before:
        code = _checkout(before)
        for name, command in COMMANDS.items():
            if name != "floor":
                cases[f"{name} at {before}"] = (command, code)
    for command, cwd in cases.values():
        _run(command, env, cwd)
    wall = {name: [] for name in cases}
    cpu = {name: [] for name in cases}
    for _ in range(runs):
        for name, (command, cwd) in cases.items():  # in turn, so a passing load weighs on all
            w, c = _run(command, env, cwd)
            wall[name].append(w)
            cpu[name].append(c)
    return {name: (statistics.median(wall[name]), statistics.median(cpu[name])) for name in cases}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench startup", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--runs",
        type=int,
        default=15,
        help="timed runs of each command (median), after one warm-up",
    )
    parser.add_argument(
        "--before", metavar="REF", help="also measure git revision REF in the same rounds"
    )
    args = parser.parse_args(argv)
    load_before = os.getloadavg()[0]
    figures = measure(args.runs, args.before)
    floor_wall, floor_cpu = figures["floor"]
    print(
        f"\nStart-up, median of {args.runs} runs (load average {load_before:.1f} → {os.getloadavg()[0]:.1f})\n"
    )
    print("| command | wall | CPU | wall ÷ floor |")
    print("|---|---|---|---|")
    for name, (wall, cpu) in figures.items():
        label = 'python -c "import flask, sqlalchemy" (floor)' if name == "floor" else name
        print(f"| {label} | {wall:.3f} s | {cpu:.3f} s | {wall / floor_wall:.2f}× |")
    help_wall = figures["flask --help"][0]
    print(f"\ngoal: flask --app kamcrm --help ≤ {GOAL_S} s")
    return 1 if help_wall > GOAL_S else 0
