import contextlib
import logging
import os
import signal
from typing import Any

from billiard.process import current_process
from celery import Celery
from celery.signals import (
    beat_embedded_init,
    task_prerun,
    worker_init,
    worker_process_init,
    worker_ready,
    worker_shutting_down,
)
from django.conf import settings
from kombu.common import ignore_errors

from fileloom import fsbroker, lifecycle

fsbroker.register()  # the embedded broker's transport alias (fileloomfs://)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fileloom.settings")

app = Celery("fileloom")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

logger = logging.getLogger("fileloom.worker")


@worker_ready.connect
def _warn_without_public_base_url(**_: object) -> None:
    if not settings.PUBLIC_BASE_URL:
        # A worker has no request to take the server's address from (the web does).
        logger.warning("PUBLIC_BASE_URL is not set: file links in webhook payloads may not point at your server")


# --- Stopping within a deadline (docs/deployment.md, "Stopping") ------------------------------
# SIGTERM may reach the worker's main process alone (`kill`, systemd KillMode=mixed) or its whole
# process group (a terminal, `killpg`, KillMode=control-group). The pool processes ignore it: the
# main process decides. It runs Celery's warm shutdown, stops taking messages, and tells each pool
# process with POOL_STOP_SIGNAL; a pool process then gives a running render
# WORKER_STOP_GRACE_SECONDS to finish before re-queuing it (documents.services), and hands back a
# render it receives afterwards (documents.tasks). Whatever still runs
# WORKER_STOP_DEADLINE_SECONDS after the request is ended.

# Not SIGTERM: a SIGTERM that reaches a pool process alone must not leave it refusing work while
# its main process carries on. SIGUSR1 is billiard's soft time limit.
POOL_STOP_SIGNAL = signal.SIGUSR2

_worker: list[Any] = []


@worker_init.connect
def _remember_worker(sender: Any, **_: object) -> None:
    _worker[:] = [sender]


@worker_shutting_down.connect
def _stop_within_deadline(**_: object) -> None:
    lifecycle.exit_by(settings.WORKER_STOP_DEADLINE_SECONDS, reason="celery worker")
    fsbroker.stop_waiting()  # the embedded broker's consumer leaves its wait for messages at once
    if not _worker:
        return
    consumer = getattr(_worker[0], "consumer", None)
    if consumer is not None and consumer.task_consumer is not None:
        # Take no more messages: a render re-queued while stopping is for the next worker (a warm
        # shutdown would otherwise keep consuming for a while). Celery's cold shutdown does the same.
        ignore_errors(consumer, consumer.task_consumer.cancel)
    try:
        pool_pids = _worker[0].pool.info["processes"]
    except (AttributeError, KeyError):  # no prefork pool (yet)
        pool_pids = []
    for pid in pool_pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, POOL_STOP_SIGNAL)


@worker_process_init.connect
def _pool_process_ignores_stop_signals(**_: object) -> None:
    # Ignored until the process's first task installs the stop watcher (task_prerun below): a
    # handler set here would be replaced by billiard's signal reset that follows, SIG_IGN is kept.
    # Without it, a SIGTERM to the process group would kill pool processes mid-render, and the
    # pool would fork replacements during the shutdown.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(POOL_STOP_SIGNAL, signal.SIG_IGN)


@task_prerun.connect
def _pool_process_watches_for_stop(**_: object) -> None:
    if current_process().name != "MainProcess":
        lifecycle.watch_for_stop(POOL_STOP_SIGNAL)


@beat_embedded_init.connect
def _beat_dies_with_worker(**_: object) -> None:
    lifecycle.die_with_parent()
