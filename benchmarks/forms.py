"""Form saves per second through ``do_save_form`` under concurrent clients, beside a bare ORM
insert of the same row measured in the same run (issue 15).

Run (under a minute with the defaults; PostgreSQL with trust or password in the URL)::

    .venv/bin/python benchmarks/forms.py [--server postgres://postgres@127.0.0.1:5432]
        [--clients 1,2,4,8] [--seconds 15] [--participants-per-client 4] [--keep]

What it does
------------
1. Drops and recreates ``--database`` (default ``combat_norse_bench_forms``) and migrates it.
2. Creates a site coordinator at each of four sites and enrolls ``--participants-per-client``
   participants per client through the real actions (do_screen / do_record_consent /
   do_enroll), spread over the sites; each client gets its own participants.
3. The action: ``--clients`` threads (each its own database connection, Django's per-thread
   connection) start together and, until ``--seconds`` have passed, save a ``labs`` form at
   the ``unscheduled`` visit of their participants in turn through ``do_save_form`` (the
   permission check, the participant lock, validation with the SI conversions, the rules, the
   row and its history row, the audit event on the hash chain, the visit status). A repeating
   form at ``unscheduled`` adds an instance per save, so every call writes a new row.
   Figures: saves/s over the span from the first call's start to the last call's end, and
   per-call latency p50/p95/p99.
4. The reference: the same threads, the same span of time, each inserting the same row (a
   ``FormInstance`` with the validated values as JSON, status, version, saved_at/by) with
   ``FormInstance.unscoped.create`` in autocommit: one INSERT and its commit, no history, no
   audit, no checks. Printed beside the action with the ratio action / bare.

Each thread count in ``--clients`` runs both phases, then ``pgbench -N`` with as many clients
(the server's raw commit rate, measured in the same run); each call's time inside the audit
append (``record_event``) is reported as a share of its latency. At the end the trail is
sealed and verified. This script prints the figures and asserts nothing on them. It exits 1
only when a call failed or the saved rows, history rows and events do not add up or the
audit trail does not verify.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from randomization import (  # the same database plumbing
    SITES,
    client_counts,
    database_url,
    drop_database,
    recreate_database,
    run_pgbench,
    setup_django,
)

LABS = {"anc_1e9_per_l": 2.4, "platelets_per_mm3": 210000, "eosinophils_per_mm3": 150,
        "alt_u_l": 31, "alt_uln_u_l": 40, "ast_ukat_l": 0.45, "ast_uln_u_l": 40}  # fmt: skip


# ------------------------------------------------------------------------ set-up
def set_up(args: argparse.Namespace) -> dict[str, Any]:
    from django.core.management import call_command

    from combat_norse.accounts.actions import do_add_user
    from combat_norse.participants.actions import do_enroll, do_record_consent, do_screen
    from combat_norse.sites.models import Site

    t0 = time.perf_counter()
    call_command("migrate", verbosity=0)
    t_migrate = time.perf_counter() - t0
    coordinators = {code: do_add_user(name, "site_coordinator", (code,)).user
                    for code, name in SITES.items()}  # fmt: skip
    codes = list(coordinators)
    t1 = time.perf_counter()
    shares: list[list[str]] = [[] for _ in range(args.clients)]
    for i in range(args.clients * args.participants_per_client):
        code = codes[i % len(codes)]
        entry, _ = do_screen(coordinators[code], Site.objects.get(code=code), record(i))
        do_record_consent(coordinators[code], entry, signer="lar", form_version="1.0")
        shares[i % args.clients].append(do_enroll(coordinators[code], entry).study_id)
    t_enroll = time.perf_counter() - t1
    return {"shares": shares, "migrate_s": t_migrate, "enroll_s": t_enroll}


def record(i: int) -> dict[str, Any]:
    import json
    from pathlib import Path

    from django.utils import timezone

    example = Path(__file__).resolve().parents[1] / "examples" / "screening-randomized.json"
    out = json.loads(example.read_text())
    out.pop("site_timezone", None)
    out.pop("evaluated_at", None)
    out["se_onset"] = (timezone.now() - timedelta(days=2, hours=i % 7)).isoformat()
    out["febrile_illness_onset"] = None
    return out


# ------------------------------------------------------------------------ clients
@dataclass
class ClientResult:
    done: int = 0
    latencies: list[float] = field(default_factory=list)
    audit: list[float] = field(default_factory=list)  # time inside record_event per call
    first_start: float = math.inf
    last_end: float = 0.0
    errors: list[str] = field(default_factory=list)


Call = Callable[[int], None]
_AUDIT = threading.local()  # per thread: seconds spent in record_event during the current call


def instrument_audit() -> None:
    """Time the audit append (``record_event``: one INSERT since issue 19) of every call."""
    from combat_norse.audit import api

    real = api.record_event

    def timed(**kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return real(**kwargs)
        finally:
            _AUDIT.spent = getattr(_AUDIT, "spent", 0.0) + time.perf_counter() - t0

    api.record_event = timed


def run_threads(clients: int, seconds: float,
                make_call: Callable[[int], Call]) -> list[ClientResult]:  # fmt: skip
    """``clients`` threads, each calling ``make_call(client)(i)`` for i = 0, 1, … until
    ``seconds`` after a common start; each thread has (and closes) its own connection."""
    from django.db import connection

    results = [ClientResult() for _ in range(clients)]
    barrier = threading.Barrier(clients)

    def work(k: int) -> None:
        result = results[k]
        try:
            try:
                call = make_call(k)  # loads what it needs before the start
                connection.ensure_connection()
            except Exception as exc:
                result.errors.append(f"set-up: {type(exc).__name__}: {exc}")
                barrier.abort()
                return
            barrier.wait(timeout=60)
            deadline = time.monotonic() + seconds
            result.first_start = time.time()
            i = 0
            while time.monotonic() < deadline:
                t0 = time.perf_counter()
                _AUDIT.spent = 0.0
                try:
                    call(i)
                except Exception as exc:  # counted and reported by the main thread
                    result.errors.append(f"{type(exc).__name__}: {exc}")
                else:
                    result.latencies.append(time.perf_counter() - t0)
                    result.audit.append(_AUDIT.spent)
                    result.done += 1
                i += 1
            result.last_end = time.time()
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(k,), daemon=True) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=seconds + 300)
    return results


def action_calls(shares: list[list[str]]) -> Callable[[int], Callable[[int], None]]:
    def make(k: int) -> Callable[[int], None]:
        from django.contrib.auth.models import User
        from django.utils import timezone

        from combat_norse.crf.actions.forms import do_save_form
        from combat_norse.participants.models import Participant

        participants = list(Participant.unscoped.select_related("site")
                            .filter(study_id__in=shares[k]).order_by("study_id"))  # fmt: skip
        actors = {p.study_id: User.objects.get(username=SITES[p.site.code]) for p in participants}

        def call(i: int) -> None:
            p = participants[i % len(participants)]
            data = {**LABS, "collected_at": timezone.now().isoformat()}
            do_save_form(actors[p.study_id], p.study_id, "unscheduled", "labs", data)

        return call

    return make


def bare_calls(shares: list[list[str]]) -> Callable[[int], Callable[[int], None]]:
    """The same row as the action writes, by one ORM insert (autocommit)."""

    def make(k: int) -> Callable[[int], None]:
        from django.contrib.auth.models import User
        from django.db.models import Max
        from django.utils import timezone

        from combat_norse.crf.actions.forms import form_def
        from combat_norse.crf.models import FormInstance, FormStatus, Visit

        form = form_def("labs")
        targets = []
        for study_id in sorted(shares[k]):
            visit = Visit.unscoped.select_related("participant__site").get(
                participant__study_id=study_id, code="unscheduled")  # fmt: skip
            actor = User.objects.get(username=SITES[visit.participant.site.code])
            top = FormInstance.unscoped.filter(visit=visit, form="labs").aggregate(
                n=Max("number"))["n"] or 0  # fmt: skip
            targets.append([visit, actor, top])

        def call(i: int) -> None:
            target = targets[i % len(targets)]
            visit, actor, top = target
            now = timezone.now()
            values = form.validate({**LABS, "collected_at": now.isoformat()}, None)
            FormInstance.unscoped.create(
                participant_id=visit.participant_id, visit=visit, form="labs",
                form_version=form.version, number=top + 1, values=values,
                status=FormStatus.COMPLETE, version=1, saved_at=now, saved_by=actor,
            )  # fmt: skip
            target[2] = top + 1

        return call

    return make


# ------------------------------------------------------------------------ report
def pct(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def ms(x: float) -> str:
    return f"{x * 1000:7.1f} ms"


_LAST_SHARE = [float("nan")]  # the audit share of the last summarized run


def summarize(label: str, results: list[ClientResult]) -> tuple[float, int, list[str]]:
    done = sum(r.done for r in results)
    span = max(r.last_end for r in results) - min(r.first_start for r in results)
    rate = done / span if span > 0 else float("nan")
    latencies = [x for r in results for x in r.latencies]
    errors = [e for r in results for e in r.errors]
    print(f"{label}: {len(results)} threads, {done} saves in {span:.2f} s -> {rate:8.1f} saves/s")
    worst = max(latencies, default=float("nan"))
    print(f"  latency p50 {ms(pct(latencies, 0.50))}   p95 {ms(pct(latencies, 0.95))}   "
          f"p99 {ms(pct(latencies, 0.99))}   max {ms(worst)}")  # fmt: skip
    audit = [x for r in results for x in r.audit]
    if any(audit):
        _LAST_SHARE[0] = sum(audit) / sum(latencies)
        print(f"  audit append (INSERT) mean {ms(sum(audit) / len(audit))}   "
              f"share of latency {_LAST_SHARE[0]:.1%}")  # fmt: skip
    print(f"  errors: {len(errors)}" + (f" (first: {errors[0]})" if errors else ""))
    return rate, done, errors


def counts() -> dict[str, int]:
    from combat_norse.audit.models import AuditEvent
    from combat_norse.crf.models import FormInstance

    return {
        "labs rows": FormInstance.unscoped.filter(form="labs").count(),
        "labs history rows": FormInstance.history.filter(form="labs").count(),
        "form_save events": AuditEvent.objects.filter(action="form_save").count(),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    default_server = os.environ.get("DATABASE_URL", "")
    if not default_server.startswith(("postgres://", "postgresql://")):
        default_server = "postgres://postgres@127.0.0.1:5432/postgres"
    parser.add_argument("--server", default=database_url(default_server, "postgres"))
    parser.add_argument("--database", default="combat_norse_bench_forms")
    parser.add_argument("--clients", type=client_counts, default=[1, 2, 4, 8],
                        help="thread counts to run, e.g. 1,2,4,8")
    parser.add_argument("--seconds", type=float, default=15.0, help="per phase")
    parser.add_argument("--participants-per-client", type=int, default=4)
    parser.add_argument("--pgbench-database", default="combat_norse_pgbench")
    parser.add_argument("--pgbench-seconds", type=int, default=10)
    parser.add_argument("--pgbench-scale", type=int, default=1)
    parser.add_argument("--no-pgbench", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    args = parser.parse_args(argv)

    url = database_url(args.server, args.database)
    print(f"server {url.rsplit('/', 1)[0]}, database {args.database} (recreated), "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")  # fmt: skip
    recreate_database(args.server, args.database)
    setup_django(url)
    from django.db import connections

    from combat_norse.audit.seal import seal_pending
    from combat_norse.audit.verify import verify_chain

    most = max(args.clients)
    set_up_args = argparse.Namespace(**{**vars(args), "clients": most})
    info = set_up(set_up_args)
    print(f"set-up: migrate {info['migrate_s']:.1f} s, enrolled "
          f"{most * args.participants_per_client} participants "
          f"({args.participants_per_client} per client) in {info['enroll_s']:.1f} s")  # fmt: skip
    connections.close_all()
    instrument_audit()

    rows = []
    failed = False
    for n in args.clients:
        shares = info["shares"][:n]
        print(f"\n=== {n} thread(s)")
        before = counts()
        action = run_threads(n, args.seconds, action_calls(shares))
        rate, done, errors = summarize("do_save_form (labs, unscheduled)", action)
        results_audit = _LAST_SHARE[0]
        after_action = counts()
        bare_rate, bare_done, bare_errors = summarize(
            "bare ORM insert (FormInstance create)",
            run_threads(n, args.seconds, bare_calls(shares)),
        )
        after_bare = counts()
        added = {k: after_action[k] - before[k] for k in before}
        bare_added = after_bare["labs rows"] - after_action["labs rows"]
        print(f"  checks: action {added['labs rows']} rows, {added['labs history rows']} "
              f"history rows, {added['form_save events']} form_save events for {done} saves; "
              f"bare {bare_added} rows for {bare_done} inserts")  # fmt: skip
        failed |= bool(set(added.values()) != {done} or bare_added != bare_done or errors
                       or bare_errors)  # fmt: skip
        tps = None if args.no_pgbench else run_pgbench(args, n)
        rows.append((n, rate, bare_rate, results_audit, tps))

    t0 = time.perf_counter()
    sealed = seal_pending()
    verified = verify_chain()
    print(f"\nseal: {sealed} events in {time.perf_counter() - t0:.2f} s; audit verify: "
          + (f"ok ({verified.events} events, {verified.sealed} sealed)" if verified.ok
             else str(verified.as_json())))  # fmt: skip
    print("\nsummary (same server, same run)")
    print(" threads  saves/s  bare inserts/s  action/bare  audit share  pgbench -N tps  "
          "action/pgbench")
    for n, rate, bare_rate, share, tps in rows:
        print(f" {n:7d}  {rate:7.1f}  {bare_rate:14.1f}  {rate / bare_rate:11.1%}  "
              f"{share:11.1%}  {tps if tps is not None else float('nan'):14.1f}  "
              f"{rate / tps if tps else float('nan'):14.1%}")  # fmt: skip
    connections.close_all()
    if not args.keep:
        drop_database(args.server, args.database)
    return 0 if verified.ok and not failed else 1


if __name__ == "__main__":
    sys.exit(main())
