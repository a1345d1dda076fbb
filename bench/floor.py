"""The plumbing floor: what a request costs with nothing of Fileloom's work in it.

A synchronous request crosses the HTTP server and Django twice (in and out) and the broker and
a Celery pool process once each way. This measures those crossings alone, on the bench's own
stack and broker, in the same run as the documents:

  - HTTP + Django + DRF: `POST /v1/pdf/generate` without an API key, answered 401 in the error
    envelope by the bench's gunicorn (middleware, URL routing, the view's authentication; no
    database statement, no render);
  - a Celery round trip: a no-op task sent on the bench's broker (same URL and transport
    options as the stack's worker) to a worker of this module's own Celery app (prefork, one
    pool process, its own queue), whose pool process answers on a Unix datagram socket, the
    way documents.notify wakes a waiting request.

Their sum is the least any synchronous request can take besides its render on this stack; the
bench compares it with the time the API may add to the minimal page (bench/README.md).

The worker is started with `celery -A bench.floor worker` (bench.stack.Stack.start_floor_worker);
the measuring side is `FloorProbe`.
"""

from __future__ import annotations

import contextlib
import os
import socket
import tempfile
import time
import uuid
from pathlib import Path

from celery import Celery
from django.conf import settings  # the stack's broker settings, read from its environment

from fileloom import fsbroker

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fileloom.settings")

QUEUE = "benchfloor"
TASK = "benchfloor.noop"

fsbroker.register()
app = Celery("benchfloor")
app.conf.update(
    broker_url=settings.CELERY_BROKER_URL,
    broker_transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS,
    task_ignore_result=True,
    task_acks_late=True,
    worker_prefetch_multiplier=1,
    task_serializer="json",
    accept_content=["json"],
    worker_hijack_root_logger=False,
    task_default_queue=QUEUE,
)


@app.task(name=TASK)
def noop(path: str) -> None:
    """Answer at once: one datagram to the sender's socket."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.sendto(b"1", path)


class FloorProbe:
    """The sending side: one Celery round trip per call, timed from the send to the answer."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="floor-"))
        self.path = str(self.folder / f"{uuid.uuid4().hex[:12]}.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)

    def round_trip(self, timeout: float = 30.0) -> float:
        """Seconds from sending the no-op task to its answer (TimeoutError past `timeout`)."""
        self.sock.settimeout(timeout)
        started = time.perf_counter()
        app.send_task(TASK, args=[self.path], queue=QUEUE)
        self.sock.recv(16)
        return time.perf_counter() - started

    def close(self) -> None:
        self.sock.close()
        with contextlib.suppress(OSError):
            os.unlink(self.path)
        with contextlib.suppress(OSError):
            os.rmdir(self.folder)
