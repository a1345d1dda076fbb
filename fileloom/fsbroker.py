"""The embedded broker: kombu's filesystem transport, made safe for a concurrent producer.

kombu's transport creates the message file and then writes to it, and its consumer moves any
file it sees: a consumer polling quickly can take a file before its content is written, and
reads an empty message (observed here under load). Here a message is written to a hidden temp
file and renamed into place, so a visible message is always complete; the consumer claims a
file with an atomic rename into the processed folder.
"""

from __future__ import annotations

import os
import threading
import uuid
from pathlib import Path
from time import monotonic
from typing import Any

from kombu.transport import TRANSPORT_ALIASES, filesystem
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads

ALIAS = "fileloomfs"
# A worker's consumer loop waits up to 2 s for a message (celery.worker.loops.synloop) before it
# looks at its stop flag; waits here are cut into slices that end at once when this is set.
_stopping = threading.Event()
WAIT_SLICE_SECONDS = 0.1


def transport_options(folder: Path) -> dict[str, Any]:
    """The transport's options for a broker kept in `folder` (its sub-folders are made here)."""
    for sub in ("queue", "processed", "control"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    return {
        "data_folder_in": str(folder / "queue"),
        "data_folder_out": str(folder / "queue"),
        "processed_folder": str(folder / "processed"),
        "control_folder": str(folder / "control"),
        "store_processed": False,
        # The filesystem transport polls; a short interval keeps the synchronous API fast.
        "polling_interval": 0.002,
    }


def stop_waiting() -> None:
    """The worker is stopping (worker_shutting_down): end the wait for messages now."""
    _stopping.set()


class Channel(filesystem.Channel):
    def _put(self, queue: str, payload: dict, **kwargs: object) -> None:  # type: ignore[override]
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        temp = os.path.join(self.data_folder_out, f".tmp-{uuid.uuid4()}")
        with open(temp, "wb") as handle:
            handle.write(str_to_bytes(dumps(payload)))
        os.rename(temp, final)

    def _get(self, queue: str) -> dict:  # type: ignore[override]
        suffix = f".{queue}.msg"
        for name in sorted(os.listdir(self.data_folder_in)):
            if name.startswith(".") or not name.endswith(suffix) or name.partition(".")[2] != suffix[1:]:
                continue
            claimed = os.path.join(self.processed_folder, name)
            try:
                os.rename(os.path.join(self.data_folder_in, name), claimed)
            except OSError:
                continue  # another consumer claimed it
            try:
                with open(claimed, "rb") as handle:
                    payload = handle.read()
            finally:
                if not self.store_processed:
                    os.remove(claimed)
            return loads(bytes_to_str(payload))
        raise filesystem.Empty()


class Transport(filesystem.Transport):
    Channel = Channel

    def drain_events(self, connection: Any, timeout: float | None = None) -> Any:  # type: ignore[override]
        ends = None if timeout is None else monotonic() + timeout
        while True:
            if _stopping.is_set():
                raise TimeoutError()
            left = WAIT_SLICE_SECONDS if ends is None else min(WAIT_SLICE_SECONDS, ends - monotonic())
            if left <= 0:
                raise TimeoutError()
            try:
                return super().drain_events(connection, timeout=left)
            except TimeoutError:
                continue


def register() -> None:
    TRANSPORT_ALIASES.setdefault(ALIAS, "fileloom.fsbroker:Transport")
