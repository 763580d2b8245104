"""Electronic signatures of a site investigator (§14; 21 CFR 11.50 and 11.200).

``sign`` re-authenticates the signer (:func:`core.reauth.reauthenticate`, whose lockout counts
the ``sign_refused`` events for a wrong password) and records what the signature covers as it
is at that moment: for ``eligibility`` the screening entry (its latest decision and record) and
the consents; for ``casebook`` every form instance (ids and versions). A canonical SHA-256
digest over the covered records and their values is stored with the list.

Validity is computed, never stored: a signature is valid while the same digest still comes out
of what exists now. Any later change (a form saved or added, a consent added, the screening
record changed) makes it invalid, and it stays so (versions and ids only grow). When a form
save or an onset correction is what broke it, :func:`note_invalidated` also records the
moment (``invalidated_at`` and a ``signature_invalidated`` event); a consent added after a
signature is noticed on read only.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from combat_norse.audit.api import audited_save
from combat_norse.audit.vocabulary import AuditAction
from combat_norse.core.errors import BadInput
from combat_norse.core.reauth import reauthenticate
from combat_norse.core.refusals import Attempt, refusals_audited
from combat_norse.crf.models import FormInstance, Signature, SignatureMeaning
from combat_norse.participants.lookups import participant_by_study_id
from combat_norse.participants.models import Consent, Participant, ScreeningDecision
from combat_norse.sites.access import scope_for
from combat_norse.sites.roles import Role

SIGNER_ROLES = frozenset({Role.SITE_INVESTIGATOR})
MEANINGS = tuple(m.value for m in SignatureMeaning)


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _eligibility(participant: Participant) -> list[tuple[dict[str, Any], Any]]:
    entry = participant.screening
    decision = (
        ScreeningDecision.unscoped.filter(screening_id=entry.pk)
        .order_by("decided_at", "id").last()
    )  # fmt: skip
    out: list[tuple[dict[str, Any], Any]] = [(
        {"kind": "screening", "id": entry.screening_id,
         "decision_id": decision.pk if decision is not None else None},
        {"record": entry.record, "decision": entry.decision, "se_onset": _iso(entry.se_onset),
         "evaluated_at": _iso(entry.evaluated_at), "rules_version": entry.rules_version},
    )]  # fmt: skip
    for c in Consent.unscoped.filter(screening_id=entry.pk).order_by("id"):
        out.append((
            {"kind": "consent", "id": c.pk, "signer": c.signer, "form_version": c.form_version},
            {"signed_at": _iso(c.signed_at), "optional": c.optional,
             "is_reconsent": c.is_reconsent},
        ))  # fmt: skip
    return out


def _casebook(participant: Participant) -> list[tuple[dict[str, Any], Any]]:
    instances = FormInstance.unscoped.filter(participant=participant).select_related("visit")
    rows: list[tuple[dict[str, Any], Any]] = []
    for fi in instances.order_by("id"):
        entry = {"kind": "form", "id": fi.pk, "visit": fi.visit.code, "form": fi.form,
                 "instance": fi.number, "version": fi.version}  # fmt: skip
        rows.append((entry, {"form_version": fi.form_version, "values": fi.values}))
    return rows


def coverage(participant: Participant, meaning: str) -> tuple[list[dict[str, Any]], str]:
    """What a ``meaning`` signature of ``participant`` covers now, and the digest over it: the
    SHA-256 of the canonical JSON of the covered entries and their values, sorted by (kind,
    id)."""
    if meaning == SignatureMeaning.ELIGIBILITY:
        rows = _eligibility(participant)
    elif meaning == SignatureMeaning.CASEBOOK:
        rows = _casebook(participant)
    else:
        raise BadInput("meaning", "eligibility or casebook")
    rows.sort(key=lambda r: (str(r[0]["kind"]), str(r[0]["id"])))
    canonical = json.dumps([[entry, values] for entry, values in rows], sort_keys=True,
                           separators=(",", ":"), ensure_ascii=False, default=str)  # fmt: skip
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return [entry for entry, _ in rows], digest


def validity(participant: Participant, signatures: Iterable[Signature]) -> dict[int, bool]:
    """Signature id → valid (its digest is still what its records give now)."""
    current: dict[str, str] = {}
    out = {}
    for sig in signatures:
        if sig.meaning not in current:
            current[sig.meaning] = coverage(participant, sig.meaning)[1]
        out[sig.pk] = current[sig.meaning] == sig.digest
    return out


def printed_name(user: User) -> str:
    return (user.get_full_name() or user.get_username()).strip()[:300]


def do_sign(
    actor: User, participant: Participant | str, *, meaning: str, password: str
) -> Signature:
    """Sign ``meaning`` for a participant: the site investigator of the participant's site only
    (another site is refused ``other site`` first), re-authenticated by ``password``."""
    if meaning not in MEANINGS:
        raise BadInput("meaning", f"eligibility or casebook, not {meaning[:40]!r}")
    participant = participant_by_study_id(participant)
    attempt = Attempt.on(AuditAction.SIGN, participant)
    with refusals_audited(actor, attempt), transaction.atomic():
        scope_for(actor).require(participant.site_id, roles=SIGNER_ROLES,
                                 action=f"sign the {meaning}")  # fmt: skip
        now = timezone.now()
        reauthenticate(actor, password, AuditAction.SIGN, now=now)
        # the participant's row lock orders a signature against concurrent saves of its forms
        participant = Participant.unscoped.select_for_update(of=("self",), no_key=True) \
            .select_related("site", "screening").get(pk=participant.pk)  # fmt: skip
        covers, digest = coverage(participant, meaning)
        signature = Signature(participant=participant, meaning=meaning, signer=actor,
                              signer_name=printed_name(actor), signed_at=now, covers=covers,
                              digest=digest)  # fmt: skip
        audited_save(signature, actor=actor, action=AuditAction.SIGN,
                     reason=f"{meaning} signed")  # fmt: skip
    return signature


def note_invalidated(actor: User, participant: Participant) -> list[Signature]:
    """Record (``invalidated_at`` and a ``signature_invalidated`` event) each signature of the
    participant that the change just made no longer matches; call inside the change's
    transaction. Validity itself is always computed (:func:`validity`)."""
    pending = list(
        Signature.unscoped.select_for_update(no_key=True)
        .filter(participant=participant, invalidated_at__isnull=True)
    )  # fmt: skip
    if not pending:
        return []
    valid = validity(participant, pending)
    now = timezone.now()
    broken = [s for s in pending if not valid[s.pk]]
    for sig in broken:
        sig.invalidated_at = now
        audited_save(sig, actor=actor, action=AuditAction.SIGNATURE_INVALIDATED,
                     reason="signed data changed", update_fields=["invalidated_at"])  # fmt: skip
    return broken


def covering_signature(found: FormInstance) -> tuple[Signature, bool] | None:
    """The latest casebook signature whose covered records include the form instance, and
    whether it is valid now (None when no casebook signature covers it)."""
    signatures = Signature.unscoped.filter(
        participant_id=found.participant_id, meaning=SignatureMeaning.CASEBOOK
    ).select_related("signer", "participant__screening").order_by("-signed_at", "-id")
    for sig in signatures:
        if any(e.get("kind") == "form" and e.get("id") == found.pk for e in sig.covers):
            return sig, validity(sig.participant, [sig])[sig.pk]
    return None
