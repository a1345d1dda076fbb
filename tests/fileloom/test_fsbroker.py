"""The embedded broker: a stopping worker leaves its wait for messages at once."""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from kombu import Connection, Consumer, Exchange, Producer, Queue

from fileloom import fsbroker


@pytest.fixture
def connection(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setattr(fsbroker, "_stopping", threading.Event())  # this process's own flag stays clear
    fsbroker.register()
    options = fsbroker.transport_options(tmp_path)
    with Connection("fileloomfs://", transport_options=options) as conn:
        yield conn


def test_a_wait_for_messages_ends_as_soon_as_the_worker_stops(connection: Any) -> None:
    name = f"test-{uuid.uuid4().hex}"  # kombu keeps bindings per transport class, for the whole process
    queue = Queue(name, Exchange(name), name)
    received: list[Any] = []
    with Consumer(connection, [queue], callbacks=[lambda body, message: received.append(body) or message.ack()]):
        Producer(connection).publish({"n": 1}, exchange=queue.exchange, routing_key=name, declare=[queue])
        connection.drain_events(timeout=2)  # a message still arrives as before
        assert received == [{"n": 1}]

        started = time.monotonic()
        with pytest.raises(TimeoutError):
            connection.drain_events(timeout=0.3)  # and a wait with none still lasts its timeout
        assert 0.3 <= time.monotonic() - started < 1.5

        threading.Timer(0.3, fsbroker.stop_waiting).start()
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            connection.drain_events(timeout=5)
        assert time.monotonic() - started < 1.0, "the wait did not end when the worker began to stop"
