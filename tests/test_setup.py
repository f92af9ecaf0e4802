"""README's two commands on a fresh machine: `make test` and `make run` bring the Debian
packages they need (deploy/system-packages), and CI uses the same step.

The script is run for real, with `dpkg-query`, `id` and `apt-get` replaced on PATH by small
stand-ins, so that a machine with everything installed can still show what a fresh one does.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "deploy" / "system-packages"


def _stand_ins(tmp_path: Path, installed: set[str], uid: int) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "apt-calls"
    scripts = {
        "dpkg-query": "#!/bin/sh\n"
        "for last; do :; done\n"
        f'case " {" ".join(sorted(installed))} " in *" $last "*) printf \'install ok installed\';; '
        '*) echo "dpkg-query: no packages found matching $last" >&2; exit 1;; esac\n',
        "id": f"#!/bin/sh\necho {uid}\n",
        "apt-get": f'#!/bin/sh\necho "$*" >> {calls}\n',
    }
    for name, text in scripts.items():
        path = bin_dir / name
        path.write_text(text)
        path.chmod(0o755)
    return {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=30)


def _packages(group: str) -> list[str]:
    return _run(dict(os.environ), "--list", group).stdout.split()


def test_the_test_group_holds_what_pdfs_and_browser_tests_need_and_run_holds_no_browser():
    assert {"libharfbuzz-subset0", "libpango-1.0-0", "chromium", "libatomic1"} <= set(
        _packages("test")
    )
    assert "libharfbuzz-subset0" in _packages("run")
    assert "chromium" not in _packages("run")


def test_a_user_who_is_not_root_is_told_the_exact_command_and_nothing_is_installed(tmp_path):
    env = _stand_ins(
        tmp_path, installed={"libpango-1.0-0", "libpangoft2-1.0-0", "fontconfig"}, uid=1000
    )

    result = _run(env, "test")

    assert result.returncode == 1
    assert (
        "sudo apt-get install -y libharfbuzz-subset0 shared-mime-info chromium libatomic1"
        in result.stderr
    )
    assert not (tmp_path / "apt-calls").exists()


def test_root_installs_only_what_is_missing(tmp_path):
    env = _stand_ins(tmp_path, installed=set(_packages("run")) | {"libatomic1"}, uid=0)

    result = _run(env, "test")

    assert result.returncode == 0, result.stderr
    calls = (tmp_path / "apt-calls").read_text().splitlines()
    assert calls == ["install -y -qq --no-install-recommends chromium"]


def test_nothing_happens_when_everything_is_installed(tmp_path):
    env = _stand_ins(tmp_path, installed=set(_packages("test")), uid=1000)

    result = _run(env, "test")

    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


@pytest.mark.parametrize("args", [(), ("everything",), ("run", "test")])
def test_a_wrong_group_is_a_usage_error(args):
    result = _run(dict(os.environ), *args)
    assert result.returncode == 2
    assert "usage:" in result.stderr


def test_make_test_and_make_run_install_the_packages_first_and_ci_keeps_no_list_of_its_own():
    def planned(target: str) -> list[str]:
        # Run inside `make test` too: the outer make's flags and level must not leak in.
        env = {k: v for k, v in os.environ.items() if k not in {"MAKEFLAGS", "MAKELEVEL", "MFLAGS"}}
        return subprocess.run(
            ["make", "--no-print-directory", "-n", target, "PORT=5123"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.splitlines()

    test_steps = planned("test")
    assert test_steps.index("deploy/system-packages test") < next(
        i for i, step in enumerate(test_steps) if "pytest" in step
    )
    run_steps = planned("run")
    assert run_steps[0] == "deploy/system-packages run"
    assert run_steps[-1].endswith("run --host 127.0.0.1 --port 5123")
    assert any("demo-logins --host 127.0.0.1 --port 5123" in step for step in run_steps)
    assert "apt-get" not in (ROOT / ".ci" / "run").read_text()


def test_demo_logins_name_the_address_the_server_listens_on(runner, make):
    make.user(role="kamr")
    output = runner.invoke(
        args=["users", "demo-logins", "--host", "0.0.0.0", "--port", "8123"]
    ).output
    assert "http://0.0.0.0:8123/login" in output
