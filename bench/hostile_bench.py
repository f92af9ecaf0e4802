"""Benchmark the import refusing hostile files: time and peak memory of each refusal.

The generator writes, under ``bench/out/hostile/`` (kept between runs), the four files that
once took the import down (issue 15, section 3), plus two to compare with:

* ``bad_rows_60mb.csv``: 60 MB of activities rows that are all bad (before: 97 s, 4.5 GB,
  234 MB of errors); now over ``IMPORT_MAX_BYTES`` (50 MB);
* ``bad_rows_45mb.csv``: the same under the size limit, so every row is checked: the
  first 1,000 problems are printed and the rest counted;
* ``expands_100mb.xlsx``: a workbook of about 400 KB whose sheet expands to 100 MB of XML
  (before: 1.8 GB);
* ``string_300mb.xlsx``: a workbook of about 300 KB with one 300 MB shared string (before: 750 MB);
* ``xfd_rows.xlsx``: ``--xfd-rows`` rows each with a cell in column XFD (before: 1.5 ms a row);
* ``tiny.csv``: one good tiers row, for the command's own baseline.

Each file is imported by ``flask --app kamcrm import`` in its own process against a migrated
SQLite file; the runner reports wall time, the child's peak resident memory (``VmHWM``,
read by the child as it exits), the bytes it printed and its last line.

    python -m bench hostile [--xfd-rows 20000] [--only NAME,...] [--code CHECKOUT] [--timeout 300]
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out" / "hostile"
FLASK = [sys.executable, "-m", "flask", "--app", "kamcrm"]
MB = 1024 * 1024
#: The child: ``flask --app kamcrm import KIND FILE``, printing its own peak resident memory at
#: exit. ``VmHWM`` belongs to the process's own memory map; ``ru_maxrss`` would not do, as
#: Linux carries a forked child's pre-exec peak (this generator's, hundreds of MB) into it.
CHILD = """
import atexit, sys
def peak():
    with open("/proc/self/status") as status:
        kib = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    sys.stderr.write(f"\\npeak-kib {kib}\\n")
atexit.register(peak)
from flask.cli import main
sys.argv = ["flask", "--app", "kamcrm", "import", *sys.argv[1:]]
main()
"""

ACTIVITY_HEADER = (
    b"account_no,type,activity_date,performed_by,status,channel,exec_role,summary,ref,recorded_at\n"
)


def _bad_rows(path: Path, size: int) -> None:
    with path.open("wb") as handle:
        handle.write(ACTIVITY_HEADER)
        written, n = len(ACTIVITY_HEADER), 0
        while written < size:
            chunk = b"".join(
                b"029999999999,XYZ,2021-02-30,nobody,,,,,R%d,\n" % (n + k) for k in range(10_000)
            )
            n += 10_000
            handle.write(chunk)
            written += len(chunk)


def _workbook(rows: list[list]) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    data = io.BytesIO()
    book.save(data)
    return data.getvalue()


def _rewrite(
    workbook: bytes, path: Path, replace: dict[str, object], add: dict[str, object] | None = None
) -> None:
    """Write ``workbook`` to ``path`` with members replaced (bytes, or a function of the old bytes)."""
    source = zipfile.ZipFile(io.BytesIO(workbook))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as target:
        for member in source.infolist():
            content = source.read(member)
            change = replace.get(member.filename)
            target.writestr(
                member.filename, change(content) if callable(change) else (change or content)
            )
        for name, content in (add or {}).items():
            target.writestr(name, content)


def _expanding(path: Path) -> None:
    good = _workbook(
        [["account_no", "tier", "effective_from"], ["020000000001", "STAR", "2021-01-01"]]
    )
    padding = b"<!--" + b" " * (100 * MB) + b"-->"
    _rewrite(
        good,
        path,
        {
            "xl/worksheets/sheet1.xml": lambda xml: xml.replace(
                b"<sheetData>", padding + b"<sheetData>"
            )
        },
    )


def _long_string(path: Path) -> None:
    good = _workbook(
        [
            ["account_no", "type", "activity_date", "performed_by", "summary"],
            ["020000000001", "COM", "2021-02-01", "kamr1", "PLACEHOLDER"],
        ]
    )
    source = zipfile.ZipFile(io.BytesIO(good))
    strings = (
        b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1">'
        b"<si><t>" + b"x" * (300 * MB) + b"</t></si></sst>"
    )
    _rewrite(
        good,
        path,
        {
            "xl/worksheets/sheet1.xml": lambda xml: xml.replace(
                b't="inlineStr"><is><t>PLACEHOLDER</t></is>', b't="s"><v>0</v>'
            ),
            "xl/_rels/workbook.xml.rels": source.read("xl/_rels/workbook.xml.rels").replace(
                b"</Relationships>",
                (
                    b'<Relationship Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"'
                    b' Target="sharedStrings.xml" Id="rId9" /></Relationships>'
                ),
            ),
            "[Content_Types].xml": source.read("[Content_Types].xml").replace(
                b"</Types>",
                (
                    b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.'
                    b'spreadsheetml.sharedStrings+xml" /></Types>'
                ),
            ),
        },
        add={"xl/sharedStrings.xml": strings},
    )


def _xfd(path: Path, rows: int) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["account_no", "tier", "effective_from"])
    for n in range(2, rows + 2):
        sheet.cell(row=n, column=1, value=f"02{n:010d}")
        sheet.cell(row=n, column=2, value="STAR")
        sheet.cell(row=n, column=3, value="2021-01-01")
        sheet.cell(row=n, column=16384, value="x")
    book.save(path)


def generate(xfd_rows: int) -> dict[str, tuple[str, Path]]:
    """Write the files (each once; delete bench/out/hostile to rebuild); return name → (kind, path)."""
    OUT.mkdir(parents=True, exist_ok=True)
    files = {
        "tiny.csv": ("tiers", lambda p: p.write_bytes(b"account_no,tier,effective_from\n")),
        "bad_rows_60mb.csv": ("activities", lambda p: _bad_rows(p, 60 * MB)),
        "bad_rows_45mb.csv": ("activities", lambda p: _bad_rows(p, 45 * MB)),
        "expands_100mb.xlsx": ("tiers", _expanding),
        "string_300mb.xlsx": ("activities", _long_string),
        f"xfd_rows_{xfd_rows}.xlsx": ("tiers", lambda p: _xfd(p, xfd_rows)),
    }
    found = {}
    for name, (kind, make) in files.items():
        path = OUT / name
        if not path.exists():
            print(f"writing {path} …", file=sys.stderr)
            make(path)
        found[name] = (kind, path)
    return found


def _run_child(kind: str, path: Path, environment: dict, code: Path, timeout: float) -> dict:
    """Run one import in a fresh process; return its seconds, peak RSS, output size and last line."""
    started = time.perf_counter()
    try:
        child = subprocess.run(
            [sys.executable, "-c", CHILD, kind, str(path)],
            env=environment,
            cwd=code,
            capture_output=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return {
            "seconds": timeout,
            "peak_mb": float("nan"),
            "printed": 0,
            "exit": "-",
            "first": f"stopped after {timeout:.0f} s",
            "last": "",
        }
    seconds = time.perf_counter() - started
    errors = child.stderr.decode("utf-8", "replace").rstrip().splitlines()
    peak_kib = int(errors.pop().split()[1])
    output = child.stdout.decode("utf-8", "replace").splitlines() + errors
    lines = [line for line in output if line.strip()]
    return {
        "seconds": seconds,
        "peak_mb": peak_kib / 1024,
        "printed": len(child.stdout) + len(child.stderr),
        "exit": child.returncode,
        "first": lines[0] if lines else "",
        "last": lines[-1] if lines else "",
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench hostile", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--xfd-rows", type=int, default=20_000)
    parser.add_argument("--only", help="comma-separated file names to run (default: all)")
    parser.add_argument(
        "--code",
        type=Path,
        default=ROOT,
        help="a checkout whose kamcrm runs the imports (e.g. a worktree of an older commit)",
    )
    parser.add_argument(
        "--timeout", type=float, default=300, help="seconds before a child is stopped"
    )
    options = parser.parse_args(argv)
    files = generate(options.xfd_rows)
    database = OUT / f"bench-{options.code.resolve().name}.sqlite"
    database.unlink(missing_ok=True)
    environment = dict(
        os.environ,
        KAMCRM_DATABASE_URL=f"sqlite:///{database}",
        KAMCRM_INSTANCE_PATH=str(OUT / "instance"),
        KAMCRM_SECRET_KEY="bench",
    )
    subprocess.run(
        [*FLASK, "db", "upgrade"],
        env=environment,
        cwd=options.code,
        check=True,
        capture_output=True,
    )
    wanted = set(options.only.split(",")) if options.only else set(files)
    print(
        f"{'file':<24} {'size':>10} {'seconds':>8} {'peak MB':>8} {'printed':>10}  exit  first line / last line"
    )
    for name, (kind, path) in files.items():
        if name not in wanted:
            continue
        result = _run_child(kind, path, environment, options.code, options.timeout)
        print(
            f"{name:<24} {path.stat().st_size / 1024:>8,.0f}KB {result['seconds']:>8.2f} {result['peak_mb']:>8.0f} "
            f"{result['printed']:>10,}  {result['exit']:>4}  {result['first'][:150]}"
        )
        if result["last"] != result["first"]:
            print(f"{'':<74}{result['last'][:150]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
