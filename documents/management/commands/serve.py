"""Run the web server and a Celery worker (with embedded beat) together; Ctrl-C stops both."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Start gunicorn and a Celery worker on the configured broker (make run)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--bind", default=os.environ.get("BIND", "127.0.0.1:8000"))
        parser.add_argument("--web-workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "2")))
        parser.add_argument("--threads", type=int, default=int(os.environ.get("WEB_THREADS", "8")))

    def handle(self, *args: object, **options: object) -> None:
        python = sys.executable
        beat_schedule = str(settings.VAR_DIR / "celerybeat-schedule")
        commands = {
            "web": [
                python,
                "-m",
                "gunicorn",
                "fileloom.wsgi",
                "--bind",
                str(options["bind"]),
                "--workers",
                str(options["web_workers"]),
                "--threads",
                str(options["threads"]),
                "--worker-class",
                "gthread",
                "--timeout",
                "120",
                "--access-logfile",
                "-",
            ],
            "worker": [
                python,
                "-m",
                "celery",
                "-A",
                "fileloom",
                "worker",
                "-Q",
                "render,default",
                "-l",
                "info",
                "-B",
                "--schedule",
                beat_schedule,
            ],
            # Office conversions and merges: their own queue, one at a time (LibreOffice is heavy).
            "converter": [
                python,
                "-m",
                "celery",
                "-A",
                "fileloom",
                "worker",
                "-Q",
                "convert",
                "-c",
                "1",
                "-n",
                "converter@%h",
                "-l",
                "info",
            ],
        }
        processes: dict[str, subprocess.Popen] = {}
        stopping = False

        def stop(*_: object) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            for name, command in commands.items():
                processes[name] = subprocess.Popen(command, start_new_session=True)
            self.stdout.write(
                f"Fileloom is running on http://{options['bind']} (Ctrl-C stops the web server and the worker)"
            )
            while not stopping:
                for name, process in processes.items():
                    if process.poll() is not None:
                        self.stderr.write(f"{name} exited with code {process.returncode}; stopping")
                        stopping = True
                time.sleep(0.3)
        finally:
            for process in processes.values():
                if process.poll() is None:
                    os.killpg(process.pid, signal.SIGTERM)
            deadline = time.monotonic() + 20
            for process in processes.values():
                try:
                    process.wait(timeout=max(deadline - time.monotonic(), 0.1))
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
            self.stdout.write("Stopped.")
