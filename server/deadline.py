"""Call deadlines: one watcher thread for every call, and work that stops when time is up.

Each call is tracked with its deadline (the client's, capped at the server's
``max_call_s``) in one heap watched by one thread — no timer thread per call. When
a deadline passes:

- a call inside an :func:`interruptible` block (parsing input, running the engine:
  pure computation holding no lock) gets :class:`DeadlineExceeded` raised in its
  thread (``PyThreadState_SetAsyncExc``), so a runaway computation ends within a
  fraction of a second even though Python threads cannot be killed;
- any other call is cancelled (``context.cancel()``: a stream waiting on its
  client ends), and it raises :class:`DeadlineExceeded` if it enters an
  interruptible block afterwards.

Work that runs in C without returning to the interpreter (``json.loads``, libyaml,
the compiled record validator) cannot be interrupted; the servicers bound it by
refusing inputs larger than their limits before parsing. Outside the
interruptible blocks a call does bounded work (the decision log append, building
the response), so it is never interrupted half-way through a commit.

:meth:`Deadlines.shorten_all` is the shutdown path: every call in flight gets a
deadline no later than the grace period.
"""

from __future__ import annotations

import contextvars
import ctypes
import heapq
import itertools
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["Call", "DeadlineExceeded", "Deadlines", "interruptible"]

_OUTSIDE, _INSIDE, _EXPIRED, _DONE = "outside", "inside", "expired", "done"
_CURRENT: contextvars.ContextVar[Call | None] = contextvars.ContextVar("call", default=None)
# PyThreadState_SetAsyncExc(thread id, exception type): raise it in that thread at its
# next Python instruction; with NULL instead of a type, clear one still pending.
_SET_ASYNC_EXC = ctypes.PYFUNCTYPE(ctypes.c_int, ctypes.c_ulong, ctypes.py_object)(
    ("PyThreadState_SetAsyncExc", ctypes.pythonapi)
)
_CLEAR_ASYNC_EXC = ctypes.PYFUNCTYPE(ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p)(
    ("PyThreadState_SetAsyncExc", ctypes.pythonapi)
)


class DeadlineExceeded(BaseException):
    """A call ran past its deadline (a BaseException, so ``except Exception`` in the
    interrupted code cannot swallow it)."""


class Call:
    """One call being watched: its thread, context, deadline and where it is."""

    def __init__(self, context: Any, deadline: float) -> None:
        self.context = context
        self.deadline = deadline
        self.thread = threading.get_ident()
        self.state = _OUTSIDE
        self.lock = threading.Lock()

    def expire(self) -> None:
        """The deadline passed: interrupt the computation, or cancel the call."""
        with self.lock:
            if self.state == _INSIDE:
                _SET_ASYNC_EXC(self.thread, DeadlineExceeded)
                self.state = _EXPIRED
                return
            if self.state != _OUTSIDE:
                return
            self.state = _EXPIRED
        self.context.cancel()

    def enter(self) -> None:
        with self.lock:
            if self.state == _EXPIRED:
                raise DeadlineExceeded()
            if self.state == _OUTSIDE and threading.get_ident() == self.thread:
                self.state = _INSIDE

    def leave(self) -> bool:
        """Leave the interruptible block; True if the deadline passed inside it."""
        with self.lock:
            if self.state == _INSIDE:
                self.state = _OUTSIDE
                return False
            if self.state == _EXPIRED:
                # an interrupt may still be pending: clear it so it never lands outside
                _CLEAR_ASYNC_EXC(self.thread, None)
                return True
            return False

    def finish(self) -> None:
        with self.lock:
            if self.state == _EXPIRED:
                _CLEAR_ASYNC_EXC(self.thread, None)
            self.state = _DONE


@contextmanager
def interruptible() -> Iterator[None]:
    """Run the block so that the current call's deadline can interrupt it.

    Only for pure computation (no lock taken, no file or log written): it may stop
    at any Python instruction with :class:`DeadlineExceeded`. Outside a tracked
    call (the CLI, tests of the engine) it does nothing.
    """
    call = _CURRENT.get()
    if call is None:
        yield
        return
    call.enter()
    try:
        yield
    finally:
        expired = call.leave()
    if expired:
        # the interrupt was swallowed (it can land in a gc or __del__ callback, which
        # ignores exceptions): the block finished, but the call is past its deadline
        raise DeadlineExceeded()


class Deadlines:
    """Every call's deadline in one heap, watched by one daemon thread."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Call]] = []
        self._active: set[Call] = set()
        self._order = itertools.count()
        lock = threading.Lock()
        self._cond = threading.Condition(lock)  # the watcher waits on it for the next deadline
        # callers of wait_idle wait on this one (same lock): a call that finishes wakes
        # them, never the watcher, which drops finished calls lazily when they fall due
        self._idle = threading.Condition(lock)
        self._idle_waiters = 0
        self._thread: threading.Thread | None = None

    @property
    def in_flight(self) -> int:
        """Calls tracked and not yet finished."""
        with self._cond:
            return len(self._active)

    @contextmanager
    def track(self, context: Any, seconds: float) -> Iterator[Call]:
        """Watch the calling thread's call for ``seconds``; the block is the call."""
        call = Call(context, time.monotonic() + max(seconds, 0.0))
        with self._cond:
            self._active.add(call)
            self._push(call)
        token = _CURRENT.set(call)
        try:
            yield call
        finally:
            _CURRENT.reset(token)
            self._finish(call)

    def _finish(self, call: Call) -> None:
        try:
            call.finish()
        finally:
            with self._cond:
                self._active.discard(call)
                if len(self._heap) > 256 and len(self._heap) > 4 * len(self._active):
                    self._heap = [item for item in self._heap if item[2] in self._active]
                    heapq.heapify(self._heap)
                if self._idle_waiters and not self._active:
                    self._idle.notify_all()

    def shorten_all(self, seconds: float) -> None:
        """Every call in flight must end within ``seconds`` from now (shutdown)."""
        limit = time.monotonic() + max(seconds, 0.0)
        with self._cond:
            for call in self._active:
                if call.deadline > limit:
                    call.deadline = limit
                    self._push(call)

    def wait_idle(self, seconds: float) -> bool:
        """Wait up to ``seconds`` for every tracked call to finish; True when none is left."""
        end = time.monotonic() + seconds
        with self._cond:
            self._idle_waiters += 1
            try:
                while self._active:
                    left = end - time.monotonic()
                    if left <= 0:
                        return False
                    self._idle.wait(left)
            finally:
                self._idle_waiters -= 1
        return True

    def _push(self, call: Call) -> None:
        heapq.heappush(self._heap, (call.deadline, next(self._order), call))
        if self._thread is None:
            self._thread = threading.Thread(target=self._watch, name="deadlines", daemon=True)
            self._thread.start()
        elif self._heap[0][2] is call:
            self._cond.notify_all()

    def _watch(self) -> None:
        while True:
            with self._cond:
                due = self._due()
            for call in due:
                call.expire()

    def _due(self) -> list[Call]:
        """Wait (holding the condition) until a tracked call's deadline passes; those calls."""
        while True:
            now = time.monotonic()
            due = []
            while self._heap and self._heap[0][0] <= now:
                deadline, _, call = heapq.heappop(self._heap)
                if call in self._active and deadline >= call.deadline:
                    due.append(call)
            if due:
                return due
            self._cond.wait(self._heap[0][0] - now if self._heap else None)
