"""The deadline watcher: one thread for every call; interruptible work stops, the rest is
cancelled and never interrupted."""

from __future__ import annotations

import threading
import time

import pytest

from flexmrt.server.deadline import DeadlineExceeded, Deadlines, interruptible


class _Context:
    def __init__(self) -> None:
        self.cancelled = threading.Event()

    def cancel(self) -> None:
        self.cancelled.set()


def _spin(seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass


def test_interruptible_work_stops_at_the_deadline():
    deadlines = Deadlines()
    with pytest.raises(DeadlineExceeded), deadlines.track(_Context(), 0.2), interruptible():
        _spin(30)
    assert deadlines.in_flight == 0


def test_work_outside_an_interruptible_block_is_cancelled_not_interrupted():
    deadlines = Deadlines()
    context = _Context()
    with deadlines.track(context, 0.1):
        _spin(0.4)  # e.g. a log append: never interrupted half-way
        assert context.cancelled.wait(5)
        with pytest.raises(DeadlineExceeded), interruptible():
            pass  # … but no new computation starts after the deadline


def test_an_interrupt_never_lands_after_the_block():
    """Work that leaves its block as the deadline passes is not hit later."""
    deadlines = Deadlines()
    for _ in range(50):
        with deadlines.track(_Context(), 0.001):
            try:
                with interruptible():
                    _spin(0.001)
            except DeadlineExceeded:
                pass
            _spin(0.005)  # a pending interrupt would land here


def test_shutdown_shortens_every_deadline_and_one_thread_watches_them_all():
    deadlines = Deadlines()
    stopped = []

    def call() -> None:
        try:
            with deadlines.track(_Context(), 300), interruptible():
                _spin(60)
        except DeadlineExceeded:
            stopped.append(True)

    before = threading.active_count()
    threads = [threading.Thread(target=call) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(0.2)
    assert threading.active_count() == before + 4 + 1  # the calls and one watcher
    deadlines.shorten_all(0.1)
    assert deadlines.wait_idle(10)
    for t in threads:
        t.join()
    assert stopped == [True] * 4
