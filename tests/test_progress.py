"""Progress bars of the long commands: a percentage and the time left, on a terminal only."""

from __future__ import annotations

import io

import pytest
from argon2 import PasswordHasher

from kamcrm import progress as progress_module
from kamcrm.org import passwords
from kamcrm.progress import ProgressBar, format_duration
from tests.test_import_errors import region  # noqa: F401  (fixture)


class _Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


@pytest.mark.parametrize(
    "seconds, shown", [(0, "0:00"), (59.6, "1:00"), (125, "2:05"), (3725, "1:02:05")]
)
def test_durations_read_as_minutes_and_seconds(seconds, shown):
    assert format_duration(seconds) == shown


def test_the_bar_shows_the_percentage_the_time_spent_and_the_time_left():
    clock = _Clock()
    bar = ProgressBar("tiers:", io.StringIO(), clock=clock, terminal=True)
    clock.now += 10
    assert bar.line(0.25, "1,000 rows") == (
        "tiers: [#######-----------------------]  25%  0:10 spent, 0:30 left  1,000 rows"
    )
    assert bar.line(None).endswith("?%  0:10 spent, time left unknown")


def test_the_bar_redraws_one_line_on_a_terminal_and_draws_nothing_elsewhere():
    terminal, pipe = io.StringIO(), io.StringIO()
    for stream, shown in ((terminal, True), (pipe, False)):
        bar = ProgressBar("x:", stream, clock=_Clock(), terminal=shown)
        bar.update(0.5)
        bar.update(1.0)
        bar.close()
    assert terminal.getvalue().count("\r") == 2 and terminal.getvalue().endswith(
        "100%  0:00 spent, 0:00 left\n"
    )
    assert pipe.getvalue() == ""


def test_the_import_command_shows_a_bar_on_a_terminal(region, runner, tmp_path, monkeypatch):
    monkeypatch.setattr(progress_module, "is_terminal", lambda stream: True)
    path = tmp_path / "tiers.csv"
    path.write_text(
        "account_no,tier,effective_from\n020000000001,STAR,2021-07-01\n", encoding="utf-8"
    )

    result = runner.invoke(args=["import", "tiers", str(path)])

    assert result.exit_code == 0, result.output
    assert "\rtiers: [##############################] 100%" in result.stderr
    assert "left  1 rows" in result.stderr
    assert result.stdout.startswith("Imported 1 rows of tiers from tiers.csv")


def test_the_demo_seed_shows_a_bar_on_a_terminal(app, runner, monkeypatch):
    monkeypatch.setattr(
        passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    )
    monkeypatch.setattr(progress_module, "is_terminal", lambda stream: True)

    result = runner.invoke(args=["seed", "demo", "--today", "2026-11-24"])

    assert result.exit_code == 0, result.output
    frames = result.stderr.split("\r")
    assert any(" 23%" in frame and "left  activities" in frame for frame in frames)
    assert "100%" in frames[-1] and "monthly summaries" in frames[-1]
    assert "seed: offices:" not in result.stderr  # no bare lines on a terminal
    assert "Loaded the demo region as of 2026-11-24" in result.stdout
