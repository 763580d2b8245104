"""Inclusion and consistency proofs of sealed events (``combat-norse audit proof``).

A proof is built from the leaf hashes the database stores and the latest checkpoint that
covers the event; :mod:`combat_norse.audit.monitor` checks it with the public key alone.
"""

from __future__ import annotations

from typing import Any

from combat_norse.audit import checkpoint as cp
from combat_norse.audit.chain import ALL_HASHED_FIELDS, leaf_document
from combat_norse.audit.exceptions import AuditError
from combat_norse.audit.merkle import LeafTree


class NotSealed(AuditError):
    """The event is unknown, not sealed yet, or not covered by a checkpoint yet."""


def _leaves(using: str, size: int) -> LeafTree:
    from combat_norse.audit.models import AuditLeaf

    rows = (
        AuditLeaf.objects.using(using)
        .filter(position__lt=size)
        .order_by("position")
        .values_list("leaf_hash", flat=True)
    )
    return LeafTree([bytes.fromhex(h) for h in rows.iterator(chunk_size=5000)])


def inclusion_proof(seq: int, using: str | None = None) -> dict[str, Any]:
    """The proof that event ``seq`` is in the trail signed by the latest checkpoint."""
    from django.db import router

    from combat_norse.audit.models import AuditEvent, AuditLeaf
    from combat_norse.audit.seal import audit_paths, current_trail, is_arm_revealing

    alias = using or router.db_for_read(AuditEvent)
    event = AuditEvent.objects.using(alias).filter(seq=seq).first()
    if event is None:
        raise NotSealed(f"event {seq}: no such event")
    leaf = AuditLeaf.objects.using(alias).filter(event_id=seq).first()
    trail = current_trail(alias)
    if leaf is None or trail is None:
        raise NotSealed(f"event {seq}: not sealed yet (run `combat-norse audit seal`)")
    paths = audit_paths()
    latest = cp.latest_checkpoint(paths.checkpoint_dir, str(trail.trail_id))
    if latest is None or latest.head.tree_size <= leaf.position:
        raise NotSealed(f"event {seq}: sealed, but no checkpoint signs it yet")
    size = latest.head.tree_size
    tree = _leaves(alias, size)
    if tree.get_size() != size or tree.root(size).hex() != latest.head.root_hash:
        raise AuditError("the database's tree does not match the latest checkpoint: "
                         "run `combat-norse audit verify`")  # fmt: skip
    fields = {name: getattr(event, name) for name in ALL_HASHED_FIELDS}
    key = cp.load_leaf_key(paths.key_dir)
    data = leaf_document(fields, redact=is_arm_revealing(event.action), key=key)
    return {
        "event": seq,
        "position": leaf.position,
        "leaf_hash": leaf.leaf_hash,
        "leaf_data": data.decode("ascii"),
        "inclusion": tree.inclusion(leaf.position, size),
        "checkpoint": {
            "head": latest.head.as_json(),
            "signature": latest.signature,
            "key_id": latest.key_id,
        },
    }


def consistency_proof(prior_size: int, using: str | None = None) -> dict[str, Any]:
    """The proof that the tree of ``prior_size`` leaves is a prefix of the latest signed one."""
    from django.db import router

    from combat_norse.audit.models import AuditEvent
    from combat_norse.audit.seal import audit_paths, current_trail

    alias = using or router.db_for_read(AuditEvent)
    trail = current_trail(alias)
    latest = (
        None if trail is None
        else cp.latest_checkpoint(audit_paths().checkpoint_dir, str(trail.trail_id))
    )  # fmt: skip
    if latest is None:
        raise NotSealed("no checkpoint yet")
    size = latest.head.tree_size
    if not 0 < prior_size <= size:
        raise NotSealed(f"prior size must be 1..{size}")
    tree = _leaves(alias, size)
    return {
        "prior_size": prior_size,
        "prior_root": tree.root(prior_size).hex(),
        "consistency": tree.consistency(prior_size, size),
        "checkpoint": {
            "head": latest.head.as_json(),
            "signature": latest.signature,
            "key_id": latest.key_id,
        },
    }
