"""Helper processes that die with their parent, and process trees read from /proc (Linux only).

A browser engine starts Playwright's Node.js driver, which starts Chromium, which starts its own
helpers (zygotes, renderers, GPU, network, crash handlers). None of them may outlive the render
process, even when it is SIGKILLed and has no chance to clean up:

- Each program is started through a launcher script that asks Linux to SIGKILL it when its parent
  dies (PR_SET_PDEATHSIG, set by util-linux's `setpriv`, kept across exec). The driver dies with
  the render process's engine thread, Chromium with the driver; Chromium's helpers exit when the
  browser process is gone (they are also found and killed by `kill_processes_mentioning`).
- Everything an engine writes (launchers, Chromium profiles, crash reports) lives in one run
  directory named after the owner's pid, so the next process to start an engine removes the
  directories of dead owners.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shlex
import shutil
import signal
import tempfile
from pathlib import Path

logger = logging.getLogger("fileloom.renderer")

SETPRIV = "/usr/bin/setpriv"
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
_RUN_DIR_NAME = re.compile(r"-(\d+)-[^/]*$")


def write_launcher(
    path: Path, program: str, *, env: dict[str, str] | None = None, pid_file: Path | None = None
) -> Path:
    """An executable script at `path` that execs `program` with its own arguments, SIGKILLed when
    the process that started it dies. `env` is exported first; `pid_file` receives the pid (the
    program keeps it: every step is an exec)."""
    if not os.access(SETPRIV, os.X_OK):
        raise RuntimeError(f"{SETPRIV} (util-linux) is required to tie helper processes to their parent")
    lines = ["#!/bin/sh", "# Written by rendering.processes: dies with its parent (PR_SET_PDEATHSIG)."]
    if pid_file is not None:
        lines.append(f"echo $$ > {shlex.quote(str(pid_file))}")
    for name, value in (env or {}).items():
        lines.append(f"{name}={shlex.quote(value)}; export {name}")
    lines.append(f'exec {SETPRIV} --pdeathsig KILL -- {shlex.quote(program)} "$@"')
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o700)
    return path


def make_run_dir(prefix: str) -> Path:
    """A new private directory `<tmp>/<prefix><pid>-<random>`, after removing those of dead pids."""
    sweep_run_dirs(prefix)
    return Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-"))


def sweep_run_dirs(prefix: str) -> list[Path]:
    """Remove the run directories whose owning process no longer exists; return them."""
    removed = []
    for path in Path(tempfile.gettempdir()).glob(f"{prefix}*"):
        match = _RUN_DIR_NAME.search(path.name)
        if not match or not path.is_dir() or _pid_exists(int(match.group(1))):
            continue
        # Helpers of a SIGKILLed owner die within a moment of it; never leave one behind.
        kill_processes_mentioning(str(path))
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed


def _pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _read(path: str) -> bytes | None:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError:  # the process exited meanwhile
        return None


def _parents() -> dict[int, int]:
    """pid → parent pid for every live process."""
    parents = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        stat = _read(f"/proc/{entry}/stat")
        if stat is None:
            continue
        # The command name (field 2) may contain spaces and parentheses: split after the last ')'.
        fields = stat[stat.rfind(b")") + 2 :].split()
        parents[int(entry)] = int(fields[1])
    return parents


def process_tree(root: int) -> list[int]:
    """`root` and all its live descendants (empty if `root` is gone)."""
    parents = _parents()
    if root not in parents:
        return []
    children: dict[int, list[int]] = {}
    for pid, parent in parents.items():
        children.setdefault(parent, []).append(pid)
    tree, stack = [], [root]
    while stack:
        pid = stack.pop()
        tree.append(pid)
        stack.extend(children.get(pid, []))
    return tree


def processes_mentioning(text: str) -> list[int]:
    """Live processes (not zombies) whose command line contains `text`."""
    needle = text.encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        cmdline = _read(f"/proc/{entry}/cmdline")
        if cmdline and needle in cmdline and not is_zombie(int(entry)):
            found.append(int(entry))
    return found


def is_zombie(pid: int) -> bool:
    stat = _read(f"/proc/{pid}/stat")
    return stat is None or stat[stat.rfind(b")") + 2 :].startswith(b"Z")


def private_resident_bytes(pids: list[int]) -> int:
    """Resident memory of these processes that is their own: RSS minus pages shared with other
    processes (libraries, file mappings). Summing whole RSS would count Chromium's shared code
    once per process, about 2.5 times its real footprint."""
    total = 0
    for pid in pids:
        statm = _read(f"/proc/{pid}/statm")
        if statm:
            fields = statm.split()
            total += (int(fields[1]) - int(fields[2])) * PAGE_SIZE
    return total


def kill_all(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


def kill_processes_mentioning(text: str) -> list[int]:
    pids = processes_mentioning(text)
    if pids:
        logger.warning("killing %d leftover process(es) of %s", len(pids), text)
        kill_all(pids)
    return pids
