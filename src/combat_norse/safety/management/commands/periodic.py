"""``manage.py periodic --interval 60``: a small scheduler process that runs the periodic
clocks (``combat_norse.safety.periodic.run_periodic``) every interval until stopped. django-tasks
has no scheduler; ``make run`` starts this beside the worker, and production may run it as a
service or call ``combat-norse clocks`` from cron or a systemd timer instead (idempotent: two
schedulers at once do no harm)."""

from __future__ import annotations

import json
import logging
import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

log = logging.getLogger("combat_norse.periodic")


class Command(BaseCommand):
    help = "Run the periodic clocks (day-8 move, visits, SAE clocks) every --interval seconds."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--interval", type=int, default=60, help="seconds between runs")
        parser.add_argument("--once", action="store_true", help="run once and exit")

    def handle(self, *args: Any, **options: Any) -> None:
        from combat_norse.audit.context import operating
        from combat_norse.safety.periodic import run_periodic

        interval = options["interval"]
        if interval < 1:
            raise ValueError("--interval: at least 1 second")
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        while True:
            try:
                with operating("periodic"):
                    result = run_periodic()
                self.stdout.write(json.dumps(result))
            except Exception:  # keep the scheduler alive; the next run retries (idempotent)
                log.exception("periodic run failed")
            if options["once"] or stop.wait(interval):
                return
