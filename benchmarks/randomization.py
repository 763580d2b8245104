"""Randomization (IRT) throughput under concurrent clients vs pgbench on the same server.

Run (about a minute with the defaults; PostgreSQL with trust or password in the URL)::

    .venv/bin/python benchmarks/randomization.py [--server postgres://postgres@127.0.0.1:5432]
        [--participants 2000] [--clients 1,2,4,8] [--seconds 20] [--design permuted_blocks]
        [--enroll bulk|actions] [--pgbench-seconds 10] [--profile] [--seal-every 1]

What it does
------------
1. Drops and recreates ``--database`` (default ``combat_norse_bench``) and migrates it.
2. Creates a statistician and a site coordinator for each of four sites (three regions), sets up
   a list (``--design``) with room for every participant, and enrolls ``--participants`` in the
   randomized cohort, spread evenly over the sites and the four strata. ``--enroll actions``
   enrolls each one through do_screen / do_record_consent / do_enroll (about 40 ms each here);
   ``--enroll bulk`` (default) enrolls one participant per site and stratum through the actions
   and copies their screening entry, consent and participant rows with ``bulk_create`` (no
   audit events for the copies; do_randomize re-checks them like any other participant).
3. For each count in ``--clients`` (a fresh database each time), starts that many client
   processes and the background sealer (``seal_pending()`` every ``--seal-every`` s, as
   ``make run`` does) (multiprocessing, spawn: each calls ``django.setup()``); each
   randomizes its own share through ``do_randomize`` (the real action: permission check,
   participant lock, eligibility re-check, slot or minimization, audit event) until the share
   is done or ``--seconds`` have passed. Figures: randomizations/s over the wall-clock span
   from the first call's start to the last call's end, per-call latency p50/p99, and, counted
   by SQL, participants with more than one allocation, slots used twice, slot/allocation
   mismatches, used slots without an allocation, list gaps, a final seal and ``audit verify``.
4. ``pgbench -i`` on a scratch database (``combat_norse_pgbench``) and the built-in
   simple-update script ``pgbench -N -c C -j C -T --pgbench-seconds`` on the same server; prints
   its TPS and the ratio ours / pgbench. (pgbench's transaction is 3 statements on 3 rows; a
   randomization is about 20 statements on a dozen rows plus Django and the eligibility rules
   in Python, so the ratio says how close the IRT gets to the server's raw commit rate.)

``--profile`` adds, per call: client CPU time (Python), the time spent appending the audit event
(``record_event``: one INSERT, no shared lock since issue 19) and its share of the latency, and
the time from the append to the end of the commit. Nothing here asserts on timings.
"""

from __future__ import annotations

import argparse
import copy
import math
import multiprocessing as mp
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from glob import glob
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

SITES = {"YNH": "bench_ynh", "SNU": "bench_snu", "PSL": "bench_psl", "OHS": "bench_ohs"}


# ------------------------------------------------------------------------ database plumbing
def database_url(server: str, name: str) -> str:
    parts = urlsplit(server)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))


def recreate_database(server: str, name: str) -> None:
    import psycopg

    with psycopg.connect(database_url(server, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(server: str, name: str) -> None:
    import psycopg

    with psycopg.connect(database_url(server, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "combat_norse.config.settings")
    if "AUDIT_KEY_DIR" not in os.environ:  # the run's own keys and checkpoints, not var/
        import tempfile

        scratch = tempfile.mkdtemp(prefix="cn-bench-audit-")
        os.environ["AUDIT_KEY_DIR"] = f"{scratch}/keys"
        os.environ["AUDIT_CHECKPOINT_DIR"] = f"{scratch}/checkpoints"
    import django

    django.setup()
    from django.conf import settings

    # Users are created with random one-time passwords; Argon2 would only slow set-up.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


# ------------------------------------------------------------------------ set-up
def profile_record(i: int) -> dict[str, Any]:
    """A randomized-cohort screening record; ``i % 4`` picks the stratum, ``i // 4`` FIRES."""
    import json
    from datetime import timedelta

    from django.utils import timezone

    example = Path(__file__).resolve().parents[1] / "examples" / "screening-randomized.json"
    record = json.loads(example.read_text())
    record.pop("site_timezone", None)
    record.pop("evaluated_at", None)
    adult, late = i % 2 == 0, (i // 2) % 2 == 1
    onset = timezone.now() - timedelta(days=5 if late else 2)
    record["date_of_birth"] = "1990-03-01" if adult else "2015-09-20"
    record["se_onset"] = onset.isoformat()
    fires = (i // 4) % 2 == 1
    record["febrile_illness_onset"] = (onset - timedelta(days=3)).isoformat() if fires else None
    return record


def enroll_one(code: str, coordinator: Any, i: int) -> Any:
    from combat_norse.participants.actions import do_enroll, do_record_consent, do_screen
    from combat_norse.sites.models import Site

    entry, _ = do_screen(coordinator, Site.objects.get(code=code), profile_record(i))
    do_record_consent(coordinator, entry, signer="lar", form_version="1.0")
    return do_enroll(coordinator, entry)


def clone(obj: Any, **changes: Any) -> Any:
    from django.db.models.base import ModelState

    new = copy.copy(obj)
    new.pk = None
    new._state = ModelState()
    for name, value in changes.items():
        setattr(new, name, value)
    return new


def enroll_bulk(coordinators: dict[str, Any], n: int) -> None:
    """One participant per site and template through the actions, the rest copied in bulk."""
    from django.db import transaction

    from combat_norse.participants.models import Consent, Participant, ScreeningEntry

    codes = list(coordinators)
    templates = {}
    for code in codes:
        for t in range(8):  # 4 strata x FIRES yes/no
            p = enroll_one(code, coordinators[code], t)
            templates[code, t] = (p, Consent.unscoped.get(screening=p.screening))
    copies = []
    for j in range(n - len(templates)):
        code = codes[j % len(codes)]
        p, consent = templates[code, (j // len(codes)) % 8]
        entry = clone(p.screening, screening_id=f"{code}-S{1000 + j:05d}")
        copies.append((entry, consent, clone(p, study_id=f"{code}-{1000 + j:05d}")))
    with transaction.atomic():
        ScreeningEntry.unscoped.bulk_create([e for e, _, _ in copies], batch_size=500)
        Consent.unscoped.bulk_create([clone(c, screening=e) for e, c, _ in copies],
                                     batch_size=500)  # fmt: skip
        for e, _, p in copies:
            p.screening = e
        Participant.unscoped.bulk_create([p for _, _, p in copies], batch_size=500)


def set_up(args: argparse.Namespace, url: str) -> dict[str, Any]:
    from django.core.management import call_command

    from combat_norse.accounts.actions import do_add_user
    from combat_norse.allocation.actions import do_setup_list
    from combat_norse.participants.models import Participant

    t0 = time.perf_counter()
    call_command("migrate", verbosity=0)
    t_migrate = time.perf_counter() - t0
    statistician = do_add_user("bench_statistician", "statistician").user
    coordinators = {code: do_add_user(name, "site_coordinator", (code,)).user
                    for code, name in SITES.items()}  # fmt: skip
    blocks = math.ceil(args.participants / 4 / 2) + 20  # block sizes 2 and 4: room + margin
    rlist = do_setup_list(statistician, design=args.design, seed=None,  # drawn by the system
                          environment="production", blocks_per_stratum=blocks)  # fmt: skip
    t1 = time.perf_counter()
    if args.enroll == "actions":
        codes = list(coordinators)
        for i in range(args.participants):
            code = codes[(i // 4) % len(codes)]
            enroll_one(code, coordinators[code], i)
    else:
        enroll_bulk(coordinators, args.participants)
    t_enroll = time.perf_counter() - t1
    pks = list(Participant.unscoped.order_by("?").values_list("pk", flat=True))
    return {"pks": pks, "list": rlist.pk, "migrate_s": t_migrate, "enroll_s": t_enroll}


# ------------------------------------------------------------------------ clients
@dataclass
class ClientResult:
    done: int = 0
    latencies: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    chain_wait: list[float] = field(default_factory=list)
    chain_hold: list[float] = field(default_factory=list)
    first_start: float = 0.0
    last_end: float = 0.0
    errors: list[str] = field(default_factory=list)


def _instrument(result: ClientResult) -> None:
    """Time the audit append (record_event: the event's INSERT; issue 19 took the chain lock
    out of it) and, from its end, the rest of the transaction up to the commit."""
    from django.db import transaction

    from combat_norse.audit import api

    real_record = api.record_event

    def timed_record(**kwargs: Any) -> Any:
        t0 = time.perf_counter()
        event = real_record(**kwargs)
        appended = time.perf_counter()
        result.chain_wait.append(appended - t0)
        transaction.on_commit(lambda: result.chain_hold.append(time.perf_counter() - appended))
        return event

    api.record_event = timed_record  # audited_save calls it through the module


def client(url: str, pks: Sequence[int], deadline_s: float, profile: bool, start: Any,
           out: Any) -> None:  # fmt: skip
    setup_django(url)
    from django.db import connection

    from combat_norse.allocation.actions import do_randomize
    from combat_norse.participants.models import Participant
    from combat_norse.sites.models import Membership

    result = ClientResult()
    if profile:
        _instrument(result)
    actors = {m.site.code: m.user for m in Membership.objects.filter(
        role="site_coordinator").select_related("user", "site")}  # fmt: skip
    participants = list(Participant.unscoped.select_related("site").filter(pk__in=pks))
    connection.ensure_connection()
    start.wait()
    deadline = time.monotonic() + deadline_s
    result.first_start = time.time()
    for p in participants:
        if time.monotonic() > deadline:
            break
        t0, c0 = time.perf_counter(), time.process_time()
        try:
            do_randomize(actors[p.site.code], p)
        except Exception as exc:  # counted and reported by the parent
            result.errors.append(f"{p.study_id}: {type(exc).__name__}: {exc}")
            continue
        result.latencies.append(time.perf_counter() - t0)
        result.cpu.append(time.process_time() - c0)
        result.done += 1
    result.last_end = time.time()
    connection.close()
    out.put(result)


def sealer(url: str, every: float, start: Any, stop: Any, out: Any) -> None:
    """The background sealer, as `make run` runs it: seal_pending() every ``every`` seconds."""
    setup_django(url)
    from django.db import connection

    from combat_norse.audit.seal import seal_pending

    runs: list[tuple[float, int]] = []
    start.wait()
    while not stop.is_set():
        t0 = time.perf_counter()
        sealed = seal_pending()
        runs.append((time.perf_counter() - t0, sealed))
        stop.wait(every)
    connection.close()
    out.put(runs)


def run_clients(args: argparse.Namespace, url: str, pks: list[int], clients: int
                ) -> tuple[list[ClientResult], list[tuple[float, int]]]:  # fmt: skip
    ctx = mp.get_context("spawn")
    start, stop, out, sealed = ctx.Event(), ctx.Event(), ctx.Queue(), ctx.Queue()
    shares = [pks[i :: clients] for i in range(clients)]
    procs = [ctx.Process(target=client, args=(url, share, args.seconds, args.profile, start, out))
             for share in shares]  # fmt: skip
    seal_proc = None
    if args.seal_every > 0:
        seal_proc = ctx.Process(target=sealer, args=(url, args.seal_every, start, stop, sealed))
        seal_proc.start()
    for p in procs:
        p.start()
    results: list[ClientResult] = []
    # Give every client time to import Django and load its share before the start signal.
    time.sleep(args.warmup)
    start.set()
    for _ in procs:
        results.append(out.get(timeout=args.seconds + 600))
    for p in procs:
        p.join(timeout=30)
    seals: list[tuple[float, int]] = []
    if seal_proc is not None:
        stop.set()
        seals = sealed.get(timeout=600)
        seal_proc.join(timeout=30)
    return results, seals


# ------------------------------------------------------------------------ checks by SQL
def integrity(list_pk: int) -> dict[str, Any]:
    from django.db import connection

    from combat_norse.allocation.actions import gaps
    from combat_norse.allocation.models import Allocation, ListSlot, RandomizationList
    from combat_norse.audit.verify import verify_chain

    # Plain SQL, independent of the ORM code under test (table names checked against it).
    assert (Allocation._meta.db_table, ListSlot._meta.db_table) == ("allocation_allocation",
                                                                    "allocation_listslot")
    queries = {
        "allocations": "SELECT count(*) FROM allocation_allocation",
        "participants allocated twice": """
            SELECT count(*) FROM (SELECT participant_id FROM allocation_allocation
                                  GROUP BY 1 HAVING count(*) > 1) d""",
        "slots used twice": """
            SELECT count(*) FROM (SELECT slot_id FROM allocation_allocation
                                  WHERE slot_id IS NOT NULL GROUP BY 1 HAVING count(*) > 1) d""",
        "sequence numbers used twice": """
            SELECT count(*) FROM (SELECT randomization_list_id, sequence_number
                                  FROM allocation_allocation WHERE sequence_number IS NOT NULL
                                  GROUP BY 1, 2 HAVING count(*) > 1) d""",
        "slot/allocation mismatches": """
            SELECT count(*) FROM allocation_allocation a
            JOIN allocation_listslot s ON s.id = a.slot_id
            WHERE s.participant_id IS DISTINCT FROM a.participant_id
               OR s.arm <> a.arm OR s.code <> a.code""",
        "used slots without allocation": """
            SELECT count(*) FROM allocation_listslot s
            LEFT JOIN allocation_allocation a ON a.slot_id = s.id
            WHERE s.participant_id IS NOT NULL AND a.id IS NULL""",
    }
    out: dict[str, Any] = {}
    with connection.cursor() as cursor:
        for label, sql in queries.items():
            cursor.execute(sql)
            out[label] = cursor.fetchone()[0]
    out["list gaps"] = sum(len(v) for v in gaps(RandomizationList.unscoped.get(pk=list_pk))
                           .values())  # fmt: skip
    from combat_norse.audit.seal import seal_pending

    t0 = time.perf_counter()
    last = seal_pending()
    out["final seal"] = f"{last} events in {time.perf_counter() - t0:.2f} s"
    verified = verify_chain()
    out["audit trail"] = (f"ok ({verified.events} events, {verified.sealed} sealed, "
                          f"{verified.checkpoints} checkpoints)" if verified.ok
                          else str(verified.as_json()))  # fmt: skip
    return out


# ------------------------------------------------------------------------ pgbench
def find_pgbench() -> str | None:
    found = shutil.which("pgbench")
    if found:
        return found
    candidates = sorted(glob("/usr/lib/postgresql/*/bin/pgbench"))
    return candidates[-1] if candidates else None


def run_pgbench(args: argparse.Namespace, clients: int) -> float | None:
    exe = find_pgbench()
    if exe is None:
        print("pgbench: not found (install postgresql-contrib or the server's client tools)")
        return None
    parts = urlsplit(args.server)
    conn = ["-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 5432),
            "-U", parts.username or "postgres"]  # fmt: skip
    env = {**os.environ}
    if parts.password:
        env["PGPASSWORD"] = parts.password
    recreate_database(args.server, args.pgbench_database)
    subprocess.run([exe, "-i", "-q", "-s", str(args.pgbench_scale), *conn,
                    args.pgbench_database], check=True, env=env, capture_output=True)  # fmt: skip
    run = subprocess.run([exe, "-N", "-c", str(clients), "-j", str(clients),
                          "-T", str(args.pgbench_seconds), *conn, args.pgbench_database],
                         check=True, env=env, capture_output=True, text=True)  # fmt: skip
    drop_database(args.server, args.pgbench_database)
    match = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", run.stdout)
    if match is None:
        print(run.stdout)
        return None
    return float(match.group(1))


# ------------------------------------------------------------------------ report
def pct(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def ms(x: float) -> str:
    return f"{x * 1000:7.1f} ms"


def client_counts(raw: str) -> list[int]:
    try:
        counts = [int(x) for x in raw.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of integers: {raw!r}") from None
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError("client counts must be at least 1")
    return counts


def run_one(args: argparse.Namespace, clients: int) -> dict[str, Any]:
    """One client count: a fresh database, the clients and the sealer, the checks, pgbench."""
    url = database_url(args.server, args.database)
    recreate_database(args.server, args.database)
    setup_django(url)
    from django.db import connections

    info = set_up(args, url)
    print(f"\n=== {clients} client(s): set-up migrate {info['migrate_s']:.1f} s, enroll "
          f"{args.participants} ({args.enroll}) {info['enroll_s']:.1f} s, design {args.design}")
    connections.close_all()

    results, seals = run_clients(args, url, info["pks"], clients)
    done = sum(r.done for r in results)
    span = max(r.last_end for r in results) - min(r.first_start for r in results)
    latencies = [x for r in results for x in r.latencies]
    errors = [e for r in results for e in r.errors]
    rate = done / span if span > 0 else float("nan")
    row: dict[str, Any] = {"clients": clients, "rate": rate, "p50": pct(latencies, 0.5),
                           "p99": pct(latencies, 0.99), "audit_share": float("nan"),
                           "errors": len(errors)}  # fmt: skip
    print(f"randomization: {clients} client processes, {done} randomized in {span:.2f} s "
          f"-> {rate:.1f} randomizations/s")  # fmt: skip
    print(f"  latency p50 {ms(pct(latencies, 0.50))}   p99 {ms(pct(latencies, 0.99))}   "
          f"max {ms(max(latencies, default=float('nan')))}")  # fmt: skip
    if args.profile:
        cpu = [x for r in results for x in r.cpu]
        wait = [x for r in results for x in r.chain_wait]
        hold = [x for r in results for x in r.chain_hold]
        row["audit_share"] = sum(wait) / sum(latencies)
        print(f"  client CPU per call     mean {ms(statistics.fmean(cpu))}   "
              f"(x {done} calls = {sum(cpu):.1f} CPU-s on {os.cpu_count()} CPUs)")  # fmt: skip
        print(f"  audit append (INSERT)   mean {ms(statistics.fmean(wait))}   "
              f"p50 {ms(pct(wait, 0.5))}   p99 {ms(pct(wait, 0.99))}   "
              f"share of latency {row['audit_share']:.1%}")  # fmt: skip
        print(f"  append end → commit     mean {ms(statistics.fmean(hold))}   "
              f"p50 {ms(pct(hold, 0.5))}")
    if seals:
        busy = [d for d, n in seals if n]
        print(f"  background sealer       {len(seals)} runs every {args.seal_every:g} s, "
              f"{sum(n for _, n in seals)} events sealed during the run, "
              f"mean {ms(statistics.fmean(busy) if busy else 0.0)} per non-empty seal")
    print(f"  errors: {len(errors)}" + (f" (first: {errors[0]})" if errors else ""))
    checks = integrity(info["list"])
    print("integrity (SQL):")
    for label, value in checks.items():
        print(f"  {label:32s} {value}")
    connections.close_all()
    if not args.keep:
        drop_database(args.server, args.database)
    row["doubles"] = (checks["participants allocated twice"] + checks["slots used twice"]
                      + checks["sequence numbers used twice"])  # fmt: skip
    row["tps"] = None if args.no_pgbench else run_pgbench(args, clients)
    if row["tps"] is not None:
        print(f"pgbench -N (simple update) -c {clients} -j {clients} "
              f"-T {args.pgbench_seconds} -s {args.pgbench_scale}: {row['tps']:.1f} tps   "
              f"ratio ours / pgbench: {rate / row['tps']:.1%}")  # fmt: skip
    return row


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    default_server = os.environ.get("DATABASE_URL", "")
    if not default_server.startswith(("postgres://", "postgresql://")):
        default_server = "postgres://postgres@127.0.0.1:5432/postgres"
    parser.add_argument("--server", default=database_url(default_server, "postgres"))
    parser.add_argument("--database", default="combat_norse_bench")
    parser.add_argument("--participants", type=int, default=2000)
    parser.add_argument("--clients", type=client_counts, default=[1, 2, 4, 8],
                        help="client counts to run, e.g. 1,2,4,8 (one fresh database each)")
    parser.add_argument("--seconds", type=float, default=20.0, help="per-client time limit")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--design", choices=["permuted_blocks", "minimization"],
                        default="permuted_blocks")  # fmt: skip
    parser.add_argument("--enroll", choices=["bulk", "actions"], default="bulk")
    parser.add_argument("--pgbench-database", default="combat_norse_pgbench")
    parser.add_argument("--pgbench-seconds", type=int, default=10)
    parser.add_argument("--pgbench-scale", type=int, default=1)
    parser.add_argument("--no-pgbench", action="store_true")
    parser.add_argument("--profile", action="store_true", help="time the audit append")
    parser.add_argument("--seal-every", type=float, default=1.0,
                        help="background sealer interval in seconds (0: none during the run)")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    args = parser.parse_args(argv)

    print(f"server {urlsplit(args.server).hostname}:{urlsplit(args.server).port or 5432}, "
          f"database {args.database} (recreated per run), {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.2f}")  # fmt: skip
    rows = [run_one(args, n) for n in args.clients]
    print("\nsummary (same server, same run)")
    print(" clients  randomizations/s    p50 ms    p99 ms  audit share  pgbench -N tps   ratio")
    for r in rows:
        tps = r["tps"]
        print(f" {r['clients']:7d}  {r['rate']:16.1f}  {r['p50'] * 1000:8.1f}  "
              f"{r['p99'] * 1000:8.1f}  {r['audit_share']:11.1%}  "
              f"{tps if tps is not None else float('nan'):14.1f}  "
              f"{r['rate'] / tps if tps else float('nan'):6.1%}")  # fmt: skip
    return 1 if any(r["doubles"] or r["errors"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
