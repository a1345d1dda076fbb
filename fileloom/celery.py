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

from fileloom import lifecycle
from fileloom.fsbroker import register as register_embedded_broker

register_embedded_broker()
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
# process group (a terminal, `killpg`, KillMode=control-group). Either way the main process runs
# Celery's warm shutdown and tells the pool processes; a pool process gives a running render
# WORKER_STOP_GRACE_SECONDS to finish, then re-queues it (documents.services); and whatever is
# still running WORKER_STOP_DEADLINE_SECONDS after the request is ended.

_worker: list[Any] = []


@worker_init.connect
def _remember_worker(sender: Any, **_: object) -> None:
    _worker[:] = [sender]


@worker_shutting_down.connect
def _stop_within_deadline(**_: object) -> None:
    lifecycle.exit_by(settings.WORKER_STOP_DEADLINE_SECONDS, reason="celery worker")
    if not _worker:
        return
    consumer = getattr(_worker[0], "consumer", None)
    if consumer is not None and consumer.task_consumer is not None:
        # Take no more messages: a render this worker re-queues while stopping is for the next
        # worker (a warm shutdown would otherwise keep consuming for a while). Celery's cold
        # shutdown does the same.
        ignore_errors(consumer, consumer.task_consumer.cancel)
    try:
        pool_pids = _worker[0].pool.info["processes"]
    except (AttributeError, KeyError):  # no prefork pool (yet)
        pool_pids = []
    for pid in pool_pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)  # a stop request (lifecycle.watch_for_stop), not a kill


def _in_pool_process() -> bool:
    return bool(current_process().name != "MainProcess")


@worker_process_init.connect
def _ignore_stop_until_watched(**_: object) -> None:
    # billiard would make SIGTERM kill a pool process mid-task (and the pool would fork a
    # replacement during the shutdown); ignored until the first task installs the watcher. A
    # handler set here would be replaced by billiard's own right after; SIG_IGN is kept.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


@task_prerun.connect
def _watch_for_stop(**_: object) -> None:
    if _in_pool_process():
        lifecycle.watch_for_stop()


@beat_embedded_init.connect
def _beat_dies_with_worker(**_: object) -> None:
    lifecycle.die_with_parent()
