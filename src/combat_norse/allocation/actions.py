"""Randomization (IRT) actions: list set-up and extension by the statistician, allocation by the
treating team, corrections, and the balance report (PROTOCOL.md §6, §11, §13).

Allocation safety (DESIGN.md principle 6). ``do_randomize`` runs in one transaction:

1. the participant row is locked (``SELECT … FOR NO KEY UPDATE``): two calls for the same
   participant queue, and the second finds the first allocation and returns it;
2. permuted blocks: the first unused slot of the stratum is locked with ``FOR UPDATE SKIP
   LOCKED`` and a ``participant IS NULL`` filter, so concurrent transactions take different
   slots and never wait on one another; a slot left unused by a rolled-back transaction is
   taken by the next randomization in that stratum (``gaps()`` reports any);
   minimization: a transaction-scoped advisory lock per list serializes the decisions, since
   each depends on all earlier ones;
3. the allocation row is written with unique constraints per participant, per slot and per
   minimization sequence number, then the audit event (rows → chain lock order).

On SQLite the whole transaction is serialized (``BEGIN IMMEDIATE``), which gives the same
guarantees at a lower rate.

Row locks on a list or a participant are ``FOR NO KEY UPDATE``, never ``FOR UPDATE``: foreign
keys are checked at COMMIT (Django makes them DEFERRABLE INITIALLY DEFERRED), after the audit
chain lock is taken, with ``FOR KEY SHARE`` on the parent row. A ``FOR UPDATE`` holder that then
waits for the chain lock would deadlock with any transaction that inserted a child row of that
parent (an allocation of the list, an assessor assignment of the participant) and holds the
chain lock; ``FOR NO KEY UPDATE`` serializes the same writers without that conflict.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import connection, transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from combat_norse.allocation.models import (
    Allocation,
    Design,
    Environment,
    ListAlert,
    ListSlot,
    RandomizationList,
)
from combat_norse.audit.api import record_event
from combat_norse.participants.actions import (
    Attempt,
    BadRequest,
    Refused,
    read_refusals_audited,
    refusals_audited,
    valid_consent,
)
from combat_norse.participants.models import Cohort, Participant, ParticipantStatus
from combat_norse.protocol import DEFAULT, Decision, evaluate, parse_screening_record
from combat_norse.randomization import (
    DEFAULT_BLOCK_SIZES,
    DEFAULT_P_BEST,
    LIST_ALERT_THRESHOLD,
    MINIMIZATION_VERSION,
    PERMUTED_BLOCKS_VERSION,
    STRATA,
    MarginalCounts,
    default_minimization_config,
    fires_level,
    generate_blocks,
    minimization_code,
    minimization_uniforms,
    minimize,
    new_seed,
    next_block_number,
    replay_minimization,
    stratum_key,
    verify_list,
)
from combat_norse.randomization import ListSlot as PureSlot
from combat_norse.sites.access import AccessDenied, Scope, scope_for
from combat_norse.sites.models import Site
from combat_norse.sites.roles import RANDOMIZER_ROLES, Role

STATISTICIAN_ROLES = frozenset({Role.STATISTICIAN})
DEFAULT_BLOCKS_PER_STRATUM = 60  # about 180 slots per stratum; the alert asks for more in time


def require_statistician(actor: User) -> Scope:
    scope = scope_for(actor)
    if Role.STATISTICIAN not in scope.central_roles:
        raise AccessDenied("role", "statistician only")
    return scope


def check_statistician(actor: User, action: str) -> Scope:
    """The statistician-only gate for reads (verify, export, balance); a refusal is audited."""
    with read_refusals_audited(actor, action):
        return require_statistician(actor)


def _seed_digest(seed: int) -> str:
    """A keyed digest of the seed (HMAC with the server's SECRET_KEY): it shows later that the
    stored seed is the one set up, yet cannot be searched back to the seed from the trail."""
    return salted_hmac("combat_norse.allocation.seed", str(seed), algorithm="sha256").hexdigest()


def min_production_seed() -> int:
    """Production seeds must be large and random: a small seed could be found by trying them
    all against the codes and arms sites see, which would reveal the next allocations."""
    from django.conf import settings

    return int(getattr(settings, "COMBAT_NORSE_MIN_PRODUCTION_SEED", 2**56))


def random_seed() -> int:
    """A random seed acceptable for production."""
    while (seed := new_seed()) < min_production_seed():
        continue
    return seed


def current_environment() -> str:
    from django.conf import settings

    env = str(getattr(settings, "COMBAT_NORSE_ENVIRONMENT", Environment.PRODUCTION))
    return env if env in Environment.values else Environment.PRODUCTION


def active_list(environment: str | None = None) -> RandomizationList | None:
    return RandomizationList.unscoped.filter(
        environment=environment or current_environment(), active=True
    ).first()


# ------------------------------------------------------------------------ set-up, extension
def do_setup_list(
    actor: User,
    *,
    design: str,
    seed: int,
    environment: str | None = None,
    blocks_per_stratum: int = DEFAULT_BLOCKS_PER_STRATUM,
    block_sizes: Sequence[int] = DEFAULT_BLOCK_SIZES,
    p_best: float = DEFAULT_P_BEST,
    alert_threshold: int = LIST_ALERT_THRESHOLD,
) -> RandomizationList:
    """Generate a list (or a minimization set-up) from ``seed``; statistician only. The list's
    seed and rows stay concealed; the audit trail holds a keyed digest of the seed, not the seed."""
    environment = environment or current_environment()
    if design not in Design.values:
        raise BadRequest("design", f"one of {', '.join(Design.values)}")
    if environment not in Environment.values:
        raise BadRequest("environment", f"one of {', '.join(Environment.values)}")
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63:
        raise BadRequest("seed", "a whole number from 0 to 2^63-1")
    if environment == Environment.PRODUCTION and seed < min_production_seed():
        raise BadRequest("seed", f"a production list needs a random seed of at least "
                         f"{min_production_seed()} (use --seed random)")  # fmt: skip
    if not 1 <= blocks_per_stratum <= 10_000:
        raise BadRequest("blocks_per_stratum", "from 1 to 10000")
    attempt = Attempt("randomization_setup", "allocation.RandomizationList")
    with refusals_audited(actor, attempt), transaction.atomic():
        require_statistician(actor)
        existing = (
            RandomizationList.unscoped.select_for_update(no_key=True)
            .filter(environment=environment, active=True)
            .first()
        )
        if existing is not None:
            raise Refused(
                f"an active {environment} list exists (list {existing.pk}); retire it first"
            )
        if design == Design.PERMUTED_BLOCKS:
            version = PERMUTED_BLOCKS_VERSION
            params: dict[str, Any] = {
                "strata": list(STRATA),
                "block_sizes": list(block_sizes),
                "blocks_per_stratum": blocks_per_stratum,
                "alert_threshold": alert_threshold,
            }
        else:
            version = MINIMIZATION_VERSION
            params = {
                "factors": ["age_group", "onset_window", "fires", "region", "site"],
                "sites": list(Site.objects.order_by("code").values_list("code", flat=True)),
                "p_best": p_best,
                "imbalance": "range",
            }
        rlist = RandomizationList.unscoped.create(
            design=design,
            environment=environment,
            seed=seed,
            algorithm_version=version,
            parameters=params,
            created_at=timezone.now(),
            created_by=actor,
        )
        if design == Design.PERMUTED_BLOCKS:
            for stratum in STRATA:
                try:
                    pure = generate_blocks(seed, stratum, 1, blocks_per_stratum, block_sizes)
                except ValueError as exc:
                    raise BadRequest("block_sizes", str(exc)) from None
                _store_slots(rlist, pure)
        record_event(
            actor=actor,
            action="randomization_setup",
            obj=rlist,
            changes={
                "design": [None, design],
                "environment": [None, environment],
                "algorithm_version": [None, version],
                "seed_hmac_sha256": [None, _seed_digest(seed)],
                "parameters": [None, params],
            },
        )
    return rlist


def _store_slots(rlist: RandomizationList, pure: Sequence[PureSlot]) -> None:
    ListSlot.unscoped.bulk_create(
        [
            ListSlot(
                randomization_list=rlist,
                stratum=s.stratum,
                sequence=s.sequence,
                block_number=s.block_number,
                block_size=s.block_size,
                position_in_block=s.position_in_block,
                arm=s.arm,
                code=s.code,
            )
            for s in pure
        ],
        batch_size=500,
    )


def do_extend_list(
    actor: User, rlist: RandomizationList, *, stratum: str, n_blocks: int, reason: str
) -> int:
    """Add ``n_blocks`` blocks to one stratum, generated from the same seed (so the extension
    is the list that a longer generation would have given); statistician only, audited."""
    if stratum not in STRATA:
        raise BadRequest("stratum", f"one of {', '.join(STRATA)}")
    if not 1 <= n_blocks <= 10_000:
        raise BadRequest("blocks", "from 1 to 10000")
    if not reason.strip():
        raise BadRequest("reason", "an extension needs a reason")
    attempt = Attempt("list_extend", "allocation.RandomizationList", str(rlist.pk))
    with refusals_audited(actor, attempt), transaction.atomic():
        require_statistician(actor)
        rlist = RandomizationList.unscoped.select_for_update(no_key=True).get(pk=rlist.pk)
        if rlist.design != Design.PERMUTED_BLOCKS:
            raise Refused("only a permuted-block list has slots to extend")
        existing = [
            PureSlot(stratum, 0, b, 0, 0, "", "")
            for b in ListSlot.unscoped.filter(
                randomization_list=rlist, stratum=stratum
            ).values_list("block_number", flat=True)
        ]
        first = next_block_number(existing, stratum)
        pure = generate_blocks(
            rlist.seed,
            stratum,
            first,
            n_blocks,
            rlist.parameters.get("block_sizes", DEFAULT_BLOCK_SIZES),
        )
        _store_slots(rlist, pure)
        record_event(
            actor=actor,
            action="list_extend",
            obj=rlist,
            reason=reason.strip(),
            changes={
                "stratum": [None, stratum],
                "blocks": [None, f"{first}-{first + n_blocks - 1}"],
            },
        )
    return len(pure)


def do_retire_list(actor: User, rlist: RandomizationList, *, reason: str) -> RandomizationList:
    if not reason.strip():
        raise BadRequest("reason", "retiring a list needs a reason")
    attempt = Attempt("list_retire", "allocation.RandomizationList", str(rlist.pk))
    with refusals_audited(actor, attempt), transaction.atomic():
        require_statistician(actor)
        rlist = RandomizationList.unscoped.select_for_update(no_key=True).get(pk=rlist.pk)
        rlist.active = False
        rlist.save(update_fields=["active"])
        record_event(
            actor=actor,
            action="list_retire",
            obj=rlist,
            reason=reason.strip(),
            changes={"active": [True, False]},
        )
    return rlist


def verify_stored_list(actor: User, rlist: RandomizationList) -> list[str]:
    """Regenerate a permuted-block list from its seed and report any stored row that differs;
    for minimization, replay every decision from the seed and the stored factor levels."""
    check_statistician(actor, "list_verify")
    if rlist.design == Design.MINIMIZATION:
        return _verify_minimization(rlist)
    rows = [
        PureSlot(
            s.stratum, s.sequence, s.block_number, s.block_size, s.position_in_block, s.arm, s.code
        )
        for s in ListSlot.unscoped.filter(randomization_list=rlist).order_by("stratum", "sequence")
    ]
    return verify_list(
        rlist.seed,
        rows,
        rlist.parameters.get("block_sizes", DEFAULT_BLOCK_SIZES),
        algorithm_version=rlist.algorithm_version,
    )


def _verify_minimization(rlist: RandomizationList) -> list[str]:
    allocations = list(
        Allocation.unscoped.filter(randomization_list=rlist)
        .order_by("sequence_number")
        .values_list("sequence_number", "factors", "arm", "code")
    )
    problems = [
        f"sequence {n}: expected {k}" for k, (n, *_rest) in enumerate(allocations, start=1)
        if n != k
    ]  # fmt: skip
    config = default_minimization_config(
        rlist.parameters["sites"], p_best=rlist.parameters["p_best"]
    )
    replay = replay_minimization(config, rlist.seed, [f for _n, f, _a, _c in allocations])
    for (n, _factors, arm, code), decision in zip(allocations, replay, strict=True):
        if arm != decision.arm:
            problems.append(f"sequence {n}: arm {arm!r}, the seed gives {decision.arm!r}")
        if code != minimization_code(rlist.seed, n):
            problems.append(f"sequence {n}: code {code!r} does not match the seed")
    return problems


def export_list(actor: User, rlist: RandomizationList) -> dict[str, Any]:
    """The whole list for the statistician (concealed from everyone else): design, seed,
    version, parameters and every row (slots, or minimization allocations), so it can be
    checked offline with ``verify_list`` / ``replay_minimization``. The export is audited."""
    check_statistician(actor, "list_export")
    out: dict[str, Any] = {
        "list_id": rlist.pk, "design": rlist.design, "environment": rlist.environment,
        "seed": rlist.seed, "algorithm_version": rlist.algorithm_version,
        "parameters": rlist.parameters, "active": rlist.active,
    }  # fmt: skip
    if rlist.design == Design.PERMUTED_BLOCKS:
        out["slots"] = [
            {"stratum": s.stratum, "sequence": s.sequence, "block_number": s.block_number,
             "block_size": s.block_size, "position_in_block": s.position_in_block,
             "arm": s.arm, "code": s.code,
             "study_id": s.participant.study_id if s.participant else None}
            for s in ListSlot.unscoped.filter(randomization_list=rlist)
            .select_related("participant").order_by("stratum", "sequence")
        ]  # fmt: skip
    else:
        out["allocations"] = [
            {"sequence_number": a.sequence_number, "factors": a.factors, "arm": a.arm,
             "code": a.code, "study_id": a.participant.study_id}
            for a in Allocation.unscoped.filter(randomization_list=rlist)
            .select_related("participant").order_by("sequence_number")
        ]  # fmt: skip
    with transaction.atomic():
        record_event(actor=actor, action="export", obj=rlist,
                     changes={"what": [None, "randomization list"]})  # fmt: skip
    return out


# ------------------------------------------------------------------------ allocation
def _after_slot_locked() -> None:
    """Fault-injection point for the crash test (a no-op in the application)."""


def _check_randomizable(participant: Participant, now: datetime) -> tuple[str, dict[str, str], int]:
    """Re-check PROTOCOL.md §6 at this moment; return (stratum, factor levels, study day)."""
    if participant.cohort != Cohort.RANDOMIZED:
        raise Refused("cohort: participant is in the observational cohort")
    if participant.status != ParticipantStatus.ACTIVE:
        raise Refused(f"participant status {participant.status}")
    if valid_consent(participant.screening, at=now) is None:
        raise Refused("no valid consent")
    doc = dict(participant.screening.record)
    doc["evaluated_at"] = now.isoformat()
    result = evaluate(parse_screening_record(doc).record)
    if "I5" in result.failed and result.study_day is not None:
        raise Refused(f"I5 study day {result.study_day} > {DEFAULT.max_study_day}")
    if result.decision is not Decision.RANDOMIZED_COHORT:
        detail = result.failed or result.unknown
        raise Refused(f"{result.decision.value}: {', '.join(detail)}")
    assert result.strata is not None and result.study_day is not None  # noqa: S101
    age_group, window = result.strata.age_group.value, result.strata.onset_window.value
    levels = {
        "age_group": age_group,
        "onset_window": window,
        "fires": fires_level(result.fires),
        "region": participant.site.region,
        "site": participant.site.code,
    }
    return stratum_key(age_group, window), levels, result.study_day


class ListExhausted(Refused):
    """No unused slot in the participant's stratum. The message names neither the stratum nor
    the list state (concealment); the statisticians get the alert."""

    def __init__(self, rlist: RandomizationList, stratum: str) -> None:
        super().__init__("randomization unavailable: the statistician has been alerted")
        self.rlist = rlist
        self.stratum = stratum


def do_randomize(
    actor: User,
    participant: Participant,
    *,
    now: datetime | None = None,
) -> Allocation:
    """Allocate an arm to ``participant`` (see the module docstring). Only the treating team
    (site coordinator or investigator) of the participant's site may randomize; a second call
    returns the first allocation."""
    now = now or timezone.now()
    attempt = Attempt.on_participant("randomize", participant)
    try:
        return _allocate(actor, participant, now, attempt)
    except ListExhausted as exhausted:
        with transaction.atomic():  # the refused transaction rolled back; alert on its own
            _raise_list_alert(exhausted.rlist, exhausted.stratum, remaining=0)
        raise


def _allocate(actor: User, participant: Participant, now: datetime, attempt: Attempt) -> Allocation:
    with refusals_audited(actor, attempt), transaction.atomic():
        scope = scope_for(actor)
        scope.require(participant.site_id, roles=RANDOMIZER_ROLES, action="randomize")
        if scope.is_masked_at(participant.site_id):  # a blinded-investigator configuration
            raise AccessDenied("role", "masked users do not randomize")
        participant = (
            Participant.unscoped.select_for_update(of=("self",), no_key=True)
            .select_related("site", "screening")
            .get(pk=participant.pk)
        )
        existing = Allocation.unscoped.filter(participant=participant).first()
        if existing is not None:
            return existing
        stratum, levels, day = _check_randomizable(participant, now)
        rlist = active_list()
        if rlist is None:
            raise Refused("no active randomization list")
        if rlist.design == Design.PERMUTED_BLOCKS:
            slot = (
                ListSlot.unscoped.select_for_update(skip_locked=True)
                .filter(randomization_list=rlist, stratum=stratum, participant__isnull=True)
                .order_by("sequence")
                .first()
            )
            if slot is None:
                raise ListExhausted(rlist, stratum)
            _after_slot_locked()
            slot.participant = participant
            slot.used_at = now
            slot.save(update_fields=["participant", "used_at"])
            allocation = Allocation(
                participant=participant,
                randomization_list=rlist,
                slot=slot,
                stratum=stratum,
                factors=levels,
                arm=slot.arm,
                code=slot.code,
                randomized_at=now,
                randomized_by=actor,
                study_day=day,
            )
        else:
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_xact_lock(%s)", [rlist.lock_key()])
            earlier = list(
                Allocation.unscoped.filter(randomization_list=rlist)
                .order_by("sequence_number")
                .values_list("factors", "arm")
            )
            k = len(earlier) + 1
            config = default_minimization_config(
                rlist.parameters["sites"], p_best=rlist.parameters["p_best"]
            )
            u, tie_u = minimization_uniforms(rlist.seed, k)
            decision = minimize(config, levels, MarginalCounts.from_allocations(earlier), u, tie_u)
            allocation = Allocation(
                participant=participant,
                randomization_list=rlist,
                sequence_number=k,
                stratum=stratum,
                factors=levels,
                arm=decision.arm,
                code=minimization_code(rlist.seed, k),
                randomized_at=now,
                randomized_by=actor,
                study_day=day,
            )
        allocation.save(force_insert=True)
        record_event(
            actor=actor,
            action="randomize",
            obj=allocation,
            changes={
                "arm": [None, allocation.arm],
                "code": [None, allocation.code],
                "stratum": [None, stratum],
                "list": [None, rlist.pk],
            },
        )
        if rlist.design == Design.PERMUTED_BLOCKS:
            _check_capacity(rlist, stratum)
    return allocation


def _check_capacity(rlist: RandomizationList, stratum: str) -> None:
    threshold = int(rlist.parameters.get("alert_threshold", LIST_ALERT_THRESHOLD))
    remaining = ListSlot.unscoped.filter(
        randomization_list=rlist, stratum=stratum, participant__isnull=True
    ).count()
    if remaining <= threshold:
        _raise_list_alert(rlist, stratum, remaining)


def _raise_list_alert(rlist: RandomizationList, stratum: str, remaining: int) -> None:
    """Alert the statisticians once per stratum and list size (an extension re-arms it)."""
    capacity = ListSlot.unscoped.filter(randomization_list=rlist, stratum=stratum).count()
    alert, created = ListAlert.unscoped.get_or_create(
        randomization_list=rlist,
        stratum=stratum,
        capacity=capacity,
        defaults={"remaining": remaining, "raised_at": timezone.now()},
    )
    if created:
        from combat_norse.allocation.tasks import send_list_alert

        send_list_alert.enqueue(alert.pk)  # queued in this transaction


def mail_statisticians(alert_id: int) -> None:
    """E-mail every active statistician that a stratum's list runs low (never site roles)."""
    from django.core.mail import send_mail

    from combat_norse.sites.models import Membership

    alert = ListAlert.unscoped.get(pk=alert_id)
    recipients = sorted(
        {
            m.user.email
            for m in Membership.objects.filter(role=Role.STATISTICIAN, active=True).select_related(
                "user"
            )
            if m.user.email
        }
    )
    if not recipients:
        return
    send_mail(
        subject="[COMBAT-NORSE] randomization list running low",
        message=(
            f"List {alert.randomization_list_id}, stratum {alert.stratum}: "
            f"{alert.remaining} unused slots left. Extend it with "
            "`combat-norse randomization extend`."
        ),
        from_email=None,
        recipient_list=recipients,
    )


def gaps(rlist: RandomizationList) -> dict[str, list[int]]:
    """Per stratum, unused slots below the highest used one (left by rolled-back attempts)."""
    out: dict[str, list[int]] = {}
    for stratum in STRATA:
        used = ListSlot.unscoped.filter(
            randomization_list=rlist, stratum=stratum, participant__isnull=False
        )
        top = max(used.values_list("sequence", flat=True), default=0)
        free = list(
            ListSlot.unscoped.filter(
                randomization_list=rlist,
                stratum=stratum,
                participant__isnull=True,
                sequence__lt=top,
            )
            .order_by("sequence")
            .values_list("sequence", flat=True)
        )
        if free:
            out[stratum] = free
    return out


# ------------------------------------------------------------------------ corrections, reports
def do_mark_allocation_error(
    actor: User, participant: Participant, *, reason: str, password: str
) -> Allocation:
    """Mark an allocation made in error (statistician, re-authenticated). It is never deleted
    or reused and stays in the intention-to-treat population."""
    if not reason.strip():
        raise BadRequest("reason", "marking an allocation in error needs a reason")
    attempt = Attempt.on_participant("allocation_error", participant)
    with refusals_audited(actor, attempt), transaction.atomic():
        require_statistician(actor)
        if not (password and actor.check_password(password)):
            raise Refused("re-authentication failed")
        allocation = (
            Allocation.unscoped.select_for_update(no_key=True)
            .filter(participant=participant)
            .first()
        )
        if allocation is None:
            raise Refused("participant is not randomized")
        if allocation.in_error:
            return allocation
        allocation.in_error = True
        allocation.error_reason = reason.strip()
        allocation.error_marked_by = actor
        allocation.error_marked_at = timezone.now()
        allocation.save(
            update_fields=["in_error", "error_reason", "error_marked_by", "error_marked_at"]
        )
        record_event(
            actor=actor,
            action="allocation_error",
            obj=allocation,
            reason=reason.strip(),
            changes={"in_error": [False, True]},
        )
    return allocation


def access_allocation(user: User | Scope, participant: Participant) -> Allocation | None:
    """The participant's allocation for a reader who may see the arm; masked readers get
    AccessDenied("masked") whether or not one exists, so absence does not leak either."""
    from combat_norse.participants.access import may_see_arm

    if not may_see_arm(user, participant):
        raise AccessDenied("masked", "allocation")
    return Allocation.unscoped.filter(participant=participant).first()


def balance_report(actor: User) -> dict[str, Any]:
    """Allocations by arm within each stratum and each site, for the statistician; allocations
    marked in error are counted (intention to treat) and listed."""
    check_statistician(actor, "balance_report")
    by_stratum: dict[str, Counter[str]] = defaultdict(Counter)
    by_site: dict[str, Counter[str]] = defaultdict(Counter)
    errors = []
    total: Counter[str] = Counter()
    for a in Allocation.unscoped.select_related("participant__site").order_by("randomized_at"):
        by_stratum[a.stratum][a.arm] += 1
        by_site[a.participant.site.code][a.arm] += 1
        total[a.arm] += 1
        if a.in_error:
            errors.append(
                {"study_id": a.participant.study_id, "arm": a.arm, "reason": a.error_reason}
            )
    return {
        "total": dict(total),
        "by_stratum": {k: dict(v) for k, v in sorted(by_stratum.items())},
        "by_site": {k: dict(v) for k, v in sorted(by_site.items())},
        "marked_in_error": errors,
    }
