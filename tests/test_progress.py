"""Progress within a block: plain periodic lines off a terminal, an updating line on one."""

import io

import pytest

from mtspark_bio.progress import Progress, format_duration


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_off_a_terminal_a_stage_prints_a_plain_line_every_interval_with_rate_and_time_left():
    lines, clock = [], Clock()
    progress = Progress(lines.append, stream=io.StringIO(), interval_s=30, clock=clock)
    progress.start("block 2/5 training", 500, "presentations")
    for _ in range(10):  # 50 presentations every 10 s: 5 per s
        clock.now += 10
        progress.update(50)
    progress.close()
    assert lines == [
        "  block 2/5 training: 150/500 presentations (30 %), 5.0 presentations/s, 1 min 10 s left",
        "  block 2/5 training: 300/500 presentations (60 %), 5.0 presentations/s, 40 s left",
        "  block 2/5 training: 450/500 presentations (90 %), 5.0 presentations/s, 10 s left",
    ]
    assert not any("\r" in line for line in lines)


def test_a_stage_shorter_than_the_interval_prints_nothing_and_a_new_stage_restarts_the_clock():
    lines, clock = [], Clock()
    progress = Progress(lines.append, stream=io.StringIO(), interval_s=30, clock=clock)
    progress.start("untrained evaluation", 100, "presentations")
    clock.now += 20
    progress.update(100)
    progress.start("block 1/2 training pong", 4000, "frames")
    clock.now += 20
    progress.advance_to(1000)
    assert lines == []
    clock.now += 20
    progress.advance_to(2000)
    assert lines == ["  block 1/2 training pong: 2000/4000 frames (50 %), 50.0 frames/s, 40 s left"]


def test_on_a_terminal_the_stage_is_one_updating_line_and_nothing_is_logged():
    lines, terminal = [], Terminal()
    progress = Progress(lines.append, stream=terminal, interval_s=0)
    progress.start("block 1/1 training", 10, "presentations")
    for _ in range(10):
        progress.update(1)
    progress.close()
    assert lines == []
    drawn = terminal.getvalue()
    assert "block 1/1 training" in drawn and "/10" in drawn
    assert "\r" in drawn and "\n" not in drawn  # redrawn in place and cleared, not line by line


def test_durations_read_as_seconds_minutes_or_hours():
    assert [format_duration(s) for s in (4.4, 95, 4000)] == ["4 s", "1 min 35 s", "1 h 06 min"]


class RecordedProgress:
    """Stands in for Progress in a protocol run: records its stages and their totals."""

    stages: list = []

    def __init__(self, log, **kwds):
        self.done = 0

    def start(self, description, total, unit):
        self.stages.append([description, total, unit, 0])

    def update(self, n):
        self.stages[-1][3] += n

    def advance_to(self, done):
        self.stages[-1][3] = done

    def close(self):
        pass


@pytest.mark.runtime
def test_the_main_job_reports_every_block_and_evaluation_in_presentations(tmp_path, monkeypatch):
    from brian2 import ms

    from mtspark_bio import progress
    from mtspark_bio.front import api

    RecordedProgress.stages = []
    monkeypatch.setattr(progress, "Progress", RecordedProgress)
    config = api.ForgettingConfig(n_tasks=2, train_samples=10, test_samples=6, chunk=5, device="runtime",
                                  dt=0.25 * ms, circuit={"n_hidden": 24, "n_inhibitory": 6, "context_per_task": 4})
    api.run_forgetting(config, tmp_path / "forgetting.h5")
    tests = 2 * 6  # every task's test images
    assert RecordedProgress.stages == [
        ["untrained evaluation", tests, "presentations", tests],
        ["block 1/2 training", 10, "presentations", 10], ["block 1/2 evaluation", tests, "presentations", tests],
        ["block 2/2 training", 10, "presentations", 10], ["block 2/2 evaluation", tests, "presentations", tests],
    ]
