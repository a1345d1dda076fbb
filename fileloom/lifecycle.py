"""How Fileloom's processes end: never after their parent, and soon after they are asked to stop.

For every process we start (the web server and the worker under `manage.py serve`, the worker's
embedded beat, and any browser or office converter a renderer launches later):

- It dies with its parent, even when the parent is SIGKILLed: call `die_with_parent()` in the
  child right after fork, or pass `dies_with_this_process()` as subprocess's `preexec_fn`.
- A stop request cuts a long step short: after `watch_for_stop(sig)`, `sig` asks the process to
  stop instead of killing it (a Celery pool process gets SIGUSR2 from its main process, see
  fileloom/celery.py); code that may take long runs inside `interruptible(grace)`, and once a
  stop was requested the step gets `grace` seconds to finish, then `Stopping` is raised in it,
  so the caller can hand the work back (re-queue it).
- A process that must be gone by a deadline calls `exit_by(seconds)` when it starts stopping.

Linux only (prctl, signals; `die_with_parent` does nothing elsewhere). It uses nothing of Django,
so a process can call it before it loads anything else.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from types import FrameType

logger = logging.getLogger("fileloom.lifecycle")

_PR_SET_PDEATHSIG = 1
# Resolved here, in the parent: a child forked from a threaded process must not dlopen (another
# thread may have held the loader's lock at fork time).
_prctl: Callable[..., int] | None
try:
    _prctl = ctypes.CDLL(None, use_errno=True).prctl
except (OSError, AttributeError):  # not Linux
    _prctl = None


def die_with_parent(sig: int = signal.SIGTERM, *, parent: int | None = None) -> None:
    """Have Linux send `sig` to the calling process when its parent exits, however it exits.

    The signal follows the parent *thread* that forked us, so fork from a thread that lives as
    long as the child should (the main thread). With `parent` (the pid that forked us), a parent
    that already exited before this call is caught too: we signal ourselves at once.
    """
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, sig)
    if parent is not None and os.getppid() != parent:
        os.kill(os.getpid(), sig)


def dies_with_this_process(sig: int = signal.SIGTERM) -> Callable[[], None]:
    """A `preexec_fn` for subprocess.Popen: the child gets `sig` when the calling process exits."""
    parent = os.getpid()
    return lambda: die_with_parent(sig, parent=parent)


# --- Stop requests ---------------------------------------------------------------------------


class Stopping(BaseException):
    """Raised inside an `interruptible()` step when the process stops before the step ended.

    A BaseException, like KeyboardInterrupt, so that `except Exception` in the step (a renderer
    reporting its own failures) does not swallow it.
    """


_stop_requested_at: float | None = None
_grace: list[float] = []  # grace of each interruptible step we are in, innermost last


def stop_requested() -> bool:
    return _stop_requested_at is not None


def _arm_alarm() -> None:
    assert _stop_requested_at is not None
    remaining = _stop_requested_at + _grace[-1] - time.monotonic()
    signal.setitimer(signal.ITIMER_REAL, max(remaining, 0.001))


def _on_stop_signal(signum: int, frame: FrameType | None) -> None:
    global _stop_requested_at
    if _stop_requested_at is None:
        _stop_requested_at = time.monotonic()
        if _grace:
            _arm_alarm()


def _on_alarm(signum: int, frame: FrameType | None) -> None:
    if _grace:
        raise Stopping(f"stopping: the step did not finish within {_grace[-1]:g} s of the stop request")


def watch_for_stop(sig: int = signal.SIGTERM) -> None:
    """From now on `sig` asks this process to stop, rather than killing it outright; the process
    lives on (its parent decides when it exits), but `interruptible()` steps are cut short.

    Main thread only (Python runs signal handlers there). Idempotent.
    """
    if signal.getsignal(sig) is not _on_stop_signal:
        signal.signal(sig, _on_stop_signal)
        signal.signal(signal.SIGALRM, _on_alarm)


@contextlib.contextmanager
def interruptible(grace: float) -> Iterator[None]:
    """Run a step that a stop request may cut short: `grace` seconds after the request (or at
    once, if it came more than `grace` ago), `Stopping` is raised inside the step.

    Only in the main thread with `watch_for_stop()` in effect; elsewhere the step just runs.
    """
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGALRM) is not _on_alarm:
        yield
        return
    _grace.append(grace)
    try:
        if _stop_requested_at is not None:
            _arm_alarm()
        yield
    finally:
        _grace.pop()
        if _grace and _stop_requested_at is not None:
            _arm_alarm()  # the enclosing step's own grace
        else:
            signal.setitimer(signal.ITIMER_REAL, 0)


# --- Deadlines -------------------------------------------------------------------------------

_deadline_armed = threading.Lock()


def exit_by(seconds: float, *, reason: str) -> None:
    """Make sure this process is gone `seconds` from now: if it still runs then, log and
    `os._exit(1)` (children set up with `die_with_parent` follow). Only the first call counts."""
    if not _deadline_armed.acquire(blocking=False):
        return

    def give_up() -> None:
        logger.warning("%s: still running %g s after the stop request, exiting now", reason, seconds)
        os._exit(1)

    timer = threading.Timer(seconds, give_up)
    timer.daemon = True
    timer.name = "exit-deadline"
    timer.start()
