"""Deadline: stop before the next call once less than the margin is left (fake clock)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ecr_cleanup.cleanup import STOP_MARGIN_SECONDS, Deadline, OutOfTime


class Clock:
    """Lambda's remaining time in ms, which the test winds down by hand."""

    def __init__(self, remaining_ms: int) -> None:
        self.remaining_ms = remaining_ms
        self.reads = 0

    def __call__(self) -> int:
        self.reads += 1
        return self.remaining_ms


class Pages:
    """An iterator that counts how many items were pulled from it (each one a call)."""

    def __init__(self, count: int, clock: Clock | None = None, cost_ms: int = 0) -> None:
        self.count = count
        self.produced = 0
        self.clock = clock
        self.cost_ms = cost_ms

    def __iter__(self) -> Iterator[int]:
        for page in range(self.count):
            self.produced += 1
            if self.clock:
                self.clock.remaining_ms -= self.cost_ms
            yield page


@pytest.mark.parametrize(
    ("remaining_ms", "margin", "out"),
    [
        (60_000, 45, False),
        (45_000, 45, False),  # exactly the margin is still enough
        (44_999, 45, True),
        (0, 45, True),
        (-5, 45, True),
        (1_000, 0.5, False),
        (499, 0.5, True),
    ],
)
def test_check(remaining_ms: int, margin: float, out: bool) -> None:
    deadline = Deadline(Clock(remaining_ms), margin)
    if out:
        with pytest.raises(OutOfTime):
            deadline.check()
    else:
        deadline.check()
        assert deadline.remaining_ms() == remaining_ms  # type: ignore[misc]


def test_default_margin() -> None:
    assert Deadline().margin_seconds == STOP_MARGIN_SECONDS == 60.0
    with pytest.raises(OutOfTime):
        Deadline(Clock(int(STOP_MARGIN_SECONDS * 1000) - 1)).check()


def test_no_clock_means_no_limit() -> None:
    pages = Pages(5)
    assert list(Deadline().paced(pages)) == [0, 1, 2, 3, 4]
    assert pages.produced == 5


def test_check_reads_the_clock_every_time() -> None:
    clock = Clock(100_000)
    deadline = Deadline(clock, 45)
    deadline.check()
    clock.remaining_ms = 10_000
    with pytest.raises(OutOfTime):
        deadline.check()
    assert clock.reads == 2


def test_paced_yields_everything_while_time_lasts() -> None:
    clock = Clock(600_000)
    pages = Pages(4, clock, cost_ms=1_000)
    assert list(Deadline(clock, 45).paced(pages)) == [0, 1, 2, 3]
    assert pages.produced == 4


def test_paced_stops_before_pulling_the_next_item() -> None:
    clock = Clock(50_000)
    pages = Pages(10, clock, cost_ms=2_000)  # 50 s -> 48 -> 46 -> 44: the fourth is not pulled
    seen = []
    with pytest.raises(OutOfTime):
        for page in Deadline(clock, 45).paced(pages):
            seen.append(page)
    assert seen == [0, 1, 2]
    assert pages.produced == 3


def test_paced_pulls_nothing_when_time_is_already_out() -> None:
    clock = Clock(1_000)
    pages = Pages(3, clock)
    with pytest.raises(OutOfTime):
        next(Deadline(clock, 45).paced(pages))
    assert pages.produced == 0


def test_paced_is_lazy() -> None:
    clock = Clock(600_000)
    pages = Pages(3, clock)
    paced = Deadline(clock, 45).paced(pages)
    assert pages.produced == 0
    assert next(paced) == 0
    assert pages.produced == 1
    clock.remaining_ms = 0
    with pytest.raises(OutOfTime):
        next(paced)
    assert pages.produced == 1


def test_paced_over_nothing() -> None:
    assert list(Deadline(Clock(600_000), 45).paced([])) == []


@pytest.mark.parametrize(
    ("at_start_ms", "margin"),
    [
        (900_000, STOP_MARGIN_SECONDS),  # a full 15-minute run keeps the fixed margin
        (240_000, STOP_MARGIN_SECONDS),
        (200_000, 50.0),
        (20_000, 5.0),  # started late: it still has 15 s of calls
        (2_000, 0.5),
    ],
)
def test_scaled_margin_follows_the_time_left_at_the_start(at_start_ms: int, margin: float) -> None:
    clock = Clock(at_start_ms)
    deadline = Deadline.scaled(clock)
    deadline.check()
    assert deadline.margin_seconds == pytest.approx(margin)
    clock.remaining_ms = int(margin * 1000)  # exactly the margin is still enough
    deadline.check()
    clock.remaining_ms -= 1
    with pytest.raises(OutOfTime):
        deadline.check()


def test_a_run_started_with_20_seconds_left_makes_progress() -> None:
    """The fixed 60 s margin would start no call with 20 s left; the scaled one starts
    calls until 5 s are left, and the margin does not shrink as the time runs out."""
    clock = Clock(20_000)
    pages = Pages(100, clock, cost_ms=1_000)
    seen: list[int] = []
    with pytest.raises(OutOfTime):
        seen.extend(Deadline.scaled(clock).paced(pages))
    assert pages.produced == 16  # a call each second, from 20 s left down to 5 s
    assert clock.remaining_ms == 4_000
    with pytest.raises(OutOfTime):
        Deadline(Clock(20_000)).check()  # what the fixed margin did


@pytest.mark.parametrize("left", [0, -1])
def test_no_time_left_starts_nothing_even_with_no_margin(left: int) -> None:
    with pytest.raises(OutOfTime):
        Deadline.scaled(Clock(left)).check()
    with pytest.raises(OutOfTime):
        Deadline(Clock(left), 0).check()
