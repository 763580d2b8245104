"""Check an inclusion proof of ``combat-norse audit proof`` with the public key alone.

No Django and no database: a monitor (a site, the sponsor's auditor) who holds the trail's
public key (``audit-signing.pub``) runs::

    combat-norse audit proof 1234 > proof.json          # on the server
    python -m combat_norse.audit.monitor proof.json audit-signing.pub   # anywhere

It checks that the checkpoint's head is signed by that key, that the leaf hash is the RFC 9162
hash of the printed leaf data, and that the inclusion path leads from the leaf at its position
to the signed root. Exit 0 and ``{"ok": true, ...}``, or exit 1 with the reason.

A monitor that kept an earlier checkpoint file checks that the trail only grew since::

    combat-norse audit proof --consistency 1200 > grew.json
    python -m combat_norse.audit.monitor grew.json audit-signing.pub 000000001200.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from combat_norse.audit import checkpoint as cp
from combat_norse.audit.merkle import InvalidProof, check_consistency, check_inclusion, leaf_hash


class ProofError(Exception):
    """The proof does not hold (the message says which part fails)."""


def check_proof(proof: dict[str, Any], public_key: Path) -> dict[str, Any]:
    """Raise :class:`ProofError` unless ``proof`` holds; return what it proves."""
    checkpoint = cp.parse_checkpoint(proof["checkpoint"])
    head = checkpoint.head
    if not cp.check_signature(head, checkpoint.signature, cp.load_public_key(public_key)):
        raise ProofError("the checkpoint's signature does not check with this public key")
    leaf = bytes.fromhex(proof["leaf_hash"])
    data = proof.get("leaf_data")
    if data is not None and leaf_hash(data.encode("ascii")) != leaf:
        raise ProofError("the leaf hash is not the hash of the leaf data")
    position = int(proof["position"])
    try:
        check_inclusion(
            proof["inclusion"], leaf=leaf, root=bytes.fromhex(head.root_hash),
            position=position, size=head.tree_size,
        )  # fmt: skip
    except InvalidProof as exc:
        raise ProofError(f"the inclusion path does not lead to the signed root ({exc})") from None
    return {"ok": True, "event": proof.get("event"), "position": position,
            "tree_size": head.tree_size, "root_hash": head.root_hash,
            "signed_at": head.timestamp, "trail_id": head.trail_id}  # fmt: skip


def check_growth(proof: dict[str, Any], public_key: Path, earlier: Path) -> dict[str, Any]:
    """Raise :class:`ProofError` unless the consistency ``proof`` shows that the head of the
    ``earlier`` checkpoint file (kept by the monitor) is a prefix of the proof's signed head."""
    key = cp.load_public_key(public_key)
    old = cp.read_checkpoint(earlier)
    new = cp.parse_checkpoint(proof["checkpoint"])
    for which, checkpoint in (("earlier", old), ("new", new)):
        if not cp.check_signature(checkpoint.head, checkpoint.signature, key):
            raise ProofError(f"the {which} head's signature does not check with this key")
    if old.head.trail_id != new.head.trail_id:
        raise ProofError("the two heads are of different trails")
    if old.head.tree_size > new.head.tree_size:
        raise ProofError("the trail shrank: the new head is smaller than the earlier one")
    if int(proof["prior_size"]) != old.head.tree_size:
        raise ProofError("the proof is not from the earlier head's size")
    try:
        check_consistency(
            proof["consistency"], prior_root=bytes.fromhex(old.head.root_hash),
            prior_size=old.head.tree_size, root=bytes.fromhex(new.head.root_hash),
            size=new.head.tree_size,
        )  # fmt: skip
    except InvalidProof as exc:
        raise ProofError(f"the earlier head is not a prefix of the new one ({exc})") from None
    return {"ok": True, "prior_size": old.head.tree_size, "tree_size": new.head.tree_size,
            "root_hash": new.head.root_hash, "signed_at": new.head.timestamp}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) not in (2, 3):
        print("usage: python -m combat_norse.audit.monitor PROOF.json PUBLIC_KEY.pem "
              "[EARLIER_CHECKPOINT.json]", file=sys.stderr)  # fmt: skip
        return 2
    try:
        proof = json.loads(Path(args[0]).read_text(encoding="utf-8"))
        if len(args) == 3:
            result = check_growth(proof, Path(args[1]), Path(args[2]))
        else:
            result = check_proof(proof, Path(args[1]))
    except (ProofError, cp.CheckpointError, KeyError, TypeError, ValueError, OSError) as exc:
        print(json.dumps({"ok": False, "reason": str(exc) or type(exc).__name__}))
        return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
