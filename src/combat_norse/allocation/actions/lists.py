"""Randomization lists (statistician only): set-up from a seed, extension, retirement,
verification against the seed, export, and the gaps left by rolled-back attempts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from combat_norse.allocation.access import check_statistician, require_statistician
from combat_norse.allocation.actions.common import (
    DEFAULT_BLOCKS_PER_STRATUM,
    PRODUCTION_SEED_BITS,
    current_environment,
    random_seed,
    seed_digest,
)
from combat_norse.allocation.models import (
    Allocation,
    Design,
    Environment,
    ListSlot,
    RandomizationList,
)
from combat_norse.audit.api import audited_save, record_event
from combat_norse.audit.vocabulary import AuditAction
from combat_norse.core.errors import BadInput, Refused, require_reason
from combat_norse.core.refusals import Attempt, refusals_audited
from combat_norse.randomization import (
    DEFAULT_BLOCK_SIZES,
    DEFAULT_P_BEST,
    LIST_ALERT_THRESHOLD,
    MINIMIZATION_VERSION,
    PERMUTED_BLOCKS_VERSION,
    STRATA,
    default_minimization_config,
    generate_blocks,
    minimization_code,
    next_block_number,
    replay_minimization,
    verify_list,
)
from combat_norse.randomization import ListSlot as PureSlot
from combat_norse.sites.models import Site


def do_setup_list(
    actor: User,
    *,
    design: str,
    seed: int | None,
    environment: str | None = None,
    blocks_per_stratum: int = DEFAULT_BLOCKS_PER_STRATUM,
    block_sizes: Sequence[int] = DEFAULT_BLOCK_SIZES,
    p_best: float = DEFAULT_P_BEST,
    alert_threshold: int = LIST_ALERT_THRESHOLD,
) -> RandomizationList:
    """Generate a list (or a minimization set-up); statistician only. ``seed`` None draws a
    PRODUCTION_SEED_BITS-bit seed from the operating system's CSPRNG: the only way for a
    production list (the algorithm is public, so a chosen seed could be guessed back from the
    arms sites see); a chosen number is accepted for a test list. The seed and rows stay
    concealed; the audit trail holds a keyed digest of the seed, not the seed."""
    attempt = Attempt(AuditAction.RANDOMIZATION_SETUP, "allocation.RandomizationList")
    with refusals_audited(actor, attempt):  # the role first: others learn nothing of the rules
        require_statistician(actor)
    environment = environment or current_environment()
    if design not in Design.values:
        raise BadInput("design", f"one of {', '.join(Design.values)}")
    if environment not in Environment.values:
        raise BadInput("environment", f"one of {', '.join(Environment.values)}")
    if seed is None:
        seed = random_seed()
    elif environment == Environment.PRODUCTION:
        raise BadInput("seed", "a production list's seed is drawn by the system: use --seed random")
    elif isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**128:
        raise BadInput("seed", f"a whole number from 0 to 2^{PRODUCTION_SEED_BITS}-1")
    if not 1 <= blocks_per_stratum <= 10_000:
        raise BadInput("blocks_per_stratum", "from 1 to 10000")
    with refusals_audited(actor, attempt), transaction.atomic():
        require_statistician(actor)
        existing = (
            RandomizationList.unscoped.select_for_update(no_key=True)
            .filter(environment=environment, active=True)
            .first()
        )
        if existing is not None:
            raise Refused.state(
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
        rlist = RandomizationList(
            design=design,
            environment=environment,
            seed=str(seed),
            algorithm_version=version,
            parameters=params,
            created_at=timezone.now(),
            created_by=actor,
        )
        slots: list[PureSlot] = []
        if design == Design.PERMUTED_BLOCKS:
            for stratum in STRATA:
                try:
                    pure = generate_blocks(seed, stratum, 1, blocks_per_stratum, block_sizes)
                except ValueError as exc:
                    raise BadInput("block_sizes", str(exc)) from None
                slots.extend(pure)
        # the row and its history (with the actor); the event carries the seed's keyed digest,
        # never the seed
        audited_save(rlist, actor=actor, action=AuditAction.RANDOMIZATION_SETUP,
                     redact={"seed"},
                     extra_changes={"seed_hmac_sha256": [None, seed_digest(seed)]})
        _store_slots(rlist, slots)
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
        raise BadInput("stratum", f"one of {', '.join(STRATA)}")
    if not 1 <= n_blocks <= 10_000:
        raise BadInput("blocks", "from 1 to 10000")
    attempt = Attempt(AuditAction.LIST_EXTEND, "allocation.RandomizationList", str(rlist.pk))
    with refusals_audited(actor, attempt), transaction.atomic():
        reason = require_reason(reason, what="extending a list")
        require_statistician(actor)
        rlist = RandomizationList.unscoped.select_for_update(no_key=True).get(pk=rlist.pk)
        if rlist.design != Design.PERMUTED_BLOCKS:
            raise Refused.state("only a permuted-block list has slots to extend")
        existing = [
            PureSlot(stratum, 0, b, 0, 0, "", "")
            for b in ListSlot.unscoped.filter(
                randomization_list=rlist, stratum=stratum
            ).values_list("block_number", flat=True)
        ]
        first = next_block_number(existing, stratum)
        pure = generate_blocks(
            rlist.seed_value,
            stratum,
            first,
            n_blocks,
            rlist.parameters.get("block_sizes", DEFAULT_BLOCK_SIZES),
        )
        _store_slots(rlist, pure)
        record_event(
            actor=actor,
            action=AuditAction.LIST_EXTEND,
            obj=rlist,
            reason=reason.strip(),
            changes={
                "stratum": [None, stratum],
                "blocks": [None, f"{first}-{first + n_blocks - 1}"],
            },
        )
    return len(pure)


def do_retire_list(actor: User, rlist: RandomizationList, *, reason: str) -> RandomizationList:
    attempt = Attempt(AuditAction.LIST_RETIRE, "allocation.RandomizationList", str(rlist.pk))
    with refusals_audited(actor, attempt), transaction.atomic():
        reason = require_reason(reason, what="retiring a list")
        require_statistician(actor)
        rlist = RandomizationList.unscoped.select_for_update(no_key=True).get(pk=rlist.pk)
        rlist.active = False
        audited_save(rlist, actor=actor, action=AuditAction.LIST_RETIRE, reason=reason,
                     update_fields=["active"])
    return rlist


def verify_stored_list(actor: User, rlist: RandomizationList) -> list[str]:
    """Regenerate a permuted-block list from its seed and report any stored row that differs;
    for minimization, replay every decision from the seed and the stored factor levels."""
    check_statistician(actor, AuditAction.LIST_VERIFY)
    if rlist.design == Design.MINIMIZATION:
        return _verify_minimization(rlist)
    rows = [
        PureSlot(
            s.stratum, s.sequence, s.block_number, s.block_size, s.position_in_block, s.arm, s.code
        )
        for s in ListSlot.unscoped.filter(randomization_list=rlist).order_by("stratum", "sequence")
    ]
    return verify_list(
        rlist.seed_value,
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
    replay = replay_minimization(config, rlist.seed_value, [f for _n, f, _a, _c in allocations])
    for (n, _factors, arm, code), decision in zip(allocations, replay, strict=True):
        if arm != decision.arm:
            problems.append(f"sequence {n}: arm {arm!r}, the seed gives {decision.arm!r}")
        if n is None or code != minimization_code(rlist.seed_value, n):
            problems.append(f"sequence {n}: code {code!r} does not match the seed")
    return problems


def export_list(actor: User, rlist: RandomizationList) -> dict[str, Any]:
    """The whole list for the statistician (concealed from everyone else): design, seed,
    version, parameters and every row (slots, or minimization allocations), so it can be
    checked offline with ``verify_list`` / ``replay_minimization``. The export is audited."""
    check_statistician(actor, AuditAction.LIST_EXPORT)
    out: dict[str, Any] = {
        "list_id": rlist.pk, "design": rlist.design, "environment": rlist.environment,
        "seed": str(rlist.seed_value), "algorithm_version": rlist.algorithm_version,
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
        record_event(actor=actor, action=AuditAction.LIST_EXPORT, obj=rlist,
                     changes={"what": [None, "randomization list"]})  # fmt: skip
    return out



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

