"""fileloom.lifecycle on real processes: children die with their parent, stop requests cut
interruptible steps short after their grace, and nothing else."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]


def _python(code: str, **kwargs: object) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
        **kwargs,  # type: ignore[call-overload]
    )


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_a_child_started_with_dies_with_this_process_dies_when_its_parent_is_sigkilled():
    parent = _python(
        """
        import subprocess, sys, time
        from fileloom.lifecycle import dies_with_this_process

        child = subprocess.Popen(["sleep", "300"], preexec_fn=dies_with_this_process())
        print(child.pid, flush=True)
        time.sleep(300)
        """
    )
    try:
        child = int(parent.stdout.readline())  # type: ignore[union-attr]
        assert _alive(child)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(timeout=10)
        assert wait_until(lambda: not _alive(child), timeout=5), "the child outlived its SIGKILLed parent"
    finally:
        os.killpg(parent.pid, signal.SIGKILL)


def test_without_it_the_same_child_would_have_survived():
    """The control experiment: the test above can fail."""
    parent = _python(
        """
        import subprocess, time

        child = subprocess.Popen(["sleep", "300"])
        print(child.pid, flush=True)
        time.sleep(300)
        """
    )
    child = int(parent.stdout.readline())  # type: ignore[union-attr]
    try:
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(timeout=10)
        time.sleep(1)
        assert _alive(child)
    finally:
        os.kill(child, signal.SIGKILL)


STEPS = """
    import json, os, signal, threading, time
    from fileloom import lifecycle

    lifecycle.watch_for_stop()
    report = {}

    def step(seconds, grace):
        began = time.monotonic()
        try:
            with lifecycle.interruptible(grace):
                while time.monotonic() - began < seconds:
                    sum(range(1000))
            return ["finished", round(time.monotonic() - began, 2)]
        except lifecycle.Stopping:
            return ["stopped", round(time.monotonic() - began, 2)]

    report["before the request"] = step(0.3, grace=0.5)
    threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGTERM)).start()
    report["longer than its grace"] = step(10, grace=0.5)
    report["started after the grace ran out"] = step(10, grace=0.5)
    report["with a longer grace"] = step(0.3, grace=5)
    print(json.dumps(report), flush=True)
"""


def test_a_stop_request_cuts_an_interruptible_step_short_after_its_grace_and_kills_nothing():
    process = _python(STEPS)
    out, _ = process.communicate(timeout=60)
    assert process.returncode == 0, out  # SIGTERM did not end the process
    report = json.loads(out)
    assert report["before the request"][0] == "finished"
    outcome, seconds = report["longer than its grace"]
    assert outcome == "stopped" and 0.6 <= seconds < 3, report  # 0.2 s until the request + 0.5 s grace
    outcome, seconds = report["started after the grace ran out"]
    assert outcome == "stopped" and seconds < 0.5, report
    assert report["with a longer grace"][0] == "finished"


def test_exit_by_ends_a_process_stuck_past_its_deadline():
    process = _python(
        """
        import time
        from fileloom import lifecycle

        lifecycle.exit_by(0.5, reason="test")
        lifecycle.exit_by(60, reason="ignored: only the first deadline counts")
        time.sleep(30)
        """
    )
    began = time.monotonic()
    process.wait(timeout=20)
    assert process.returncode == 1 and time.monotonic() - began < 5
