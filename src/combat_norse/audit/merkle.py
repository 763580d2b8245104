"""The trail's Merkle tree: RFC 9162 (Certificate Transparency 2.0) hashing through pymerkle.

No Django here: a monitor checks a proof with this module, pymerkle and the public key alone.

* leaf hash ``SHA-256(0x00 || leaf data)``, interior node ``SHA-256(0x01 || left || right)``,
  the tree over ``n`` leaves split at the largest power of two below ``n`` (RFC 9162 §2.1);
* positions count from 0 here and in what the commands print; pymerkle counts from 1.

The tree is built from stored leaf hashes (the sealer stores each leaf's hash once), so a root,
an inclusion proof or a consistency proof never re-reads the events.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pymerkle import BaseMerkleTree, ConsistencyProof, InclusionProof, InvalidProof
from pymerkle.hasher import MerkleHasher

ALGORITHM = "sha256"
_HASHER = MerkleHasher(ALGORITHM, security=True)  # security: the RFC 9162 0x00 / 0x01 prefixes

__all__ = [
    "Frontier",
    "InvalidProof",
    "LeafTree",
    "check_consistency",
    "check_inclusion",
    "leaf_hash",
]


def leaf_hash(data: bytes) -> bytes:
    """RFC 9162 leaf hash of ``data``."""
    return bytes(_HASHER.hash_buff(data))


class LeafTree(BaseMerkleTree):  # type: ignore[misc]  # pymerkle ships no type hints
    """An in-memory tree over already computed leaf hashes (pymerkle's storage interface)."""

    def __init__(self, leaves: Sequence[bytes] = ()) -> None:
        self._leaves: list[bytes] = list(leaves)
        super().__init__(ALGORITHM)

    def _encode_entry(self, data: bytes) -> bytes:
        return data

    def _store_leaf(self, data: bytes, digest: bytes) -> int:
        self._leaves.append(digest)
        return len(self._leaves)

    def _get_leaf(self, index: int) -> bytes:
        return self._leaves[index - 1]

    def _get_leaves(self, offset: int, width: int) -> list[bytes]:
        return self._leaves[offset : offset + width]

    def _get_size(self) -> int:
        return len(self._leaves)

    def extend(self, digests: Sequence[bytes]) -> None:
        """Append leaves whose hashes are already known."""
        with self.lock:
            self._leaves.extend(digests)

    def root(self, size: int | None = None) -> bytes:
        """Root hash over the first ``size`` leaves (all by default; the empty tree's root is
        SHA-256 of nothing, RFC 9162 §2.1.1)."""
        size = self.get_size() if size is None else size
        if size == 0:
            return bytes(_HASHER.hash_empty())
        return bytes(self.get_root(size))

    def inclusion(self, position: int, size: int) -> dict[str, Any]:
        """Inclusion proof of the leaf at ``position`` (from 0) in the tree of ``size`` leaves,
        as pymerkle's JSON (``InclusionProof.deserialize`` reads it back)."""
        proof: InclusionProof = self.prove_inclusion(position + 1, size)
        return dict(proof.serialize())

    def consistency(self, prior_size: int, size: int) -> dict[str, Any]:
        """Consistency proof between the trees of ``prior_size`` and ``size`` leaves."""
        proof: ConsistencyProof = self.prove_consistency(prior_size, size)
        return dict(proof.serialize())


class Frontier:
    """The right edge of a tree: the roots of its perfect subtrees, largest first (one per bit
    of the size), enough to append leaves and compute the new root without the old leaves.

    The RFC 9162 tree over ``n`` leaves is the right fold of these subtree roots (pymerkle's
    ``hash_fold``), so ``Frontier(leaves).root() == LeafTree(leaves).root()`` (a test checks it
    for every size up to 300).
    """

    def __init__(self, size: int = 0, roots: Sequence[bytes] = ()) -> None:
        if len(roots) != bin(size).count("1"):
            raise ValueError(f"a tree of {size} leaves has {bin(size).count('1')} subtree roots")
        self.size = size
        self.roots = list(roots)

    @classmethod
    def of(cls, leaves: Sequence[bytes]) -> Frontier:
        frontier = cls()
        frontier.extend(leaves)
        return frontier

    def extend(self, leaves: Sequence[bytes]) -> None:
        for digest in leaves:
            self.roots.append(digest)
            self.size += 1
            # merge equal-sized subtrees: one merge per trailing 1 bit of the old size
            carry = self.size
            while carry % 2 == 0:
                right = self.roots.pop()
                left = self.roots.pop()
                self.roots.append(bytes(_HASHER.hash_pair(left, right)))
                carry //= 2

    def root(self) -> bytes:
        if not self.roots:
            return bytes(_HASHER.hash_empty())
        return bytes(_HASHER.hash_fold(list(reversed(self.roots))))


def check_inclusion(
    proof: dict[str, Any], *, leaf: bytes, root: bytes, position: int, size: int
) -> None:
    """Raise :class:`InvalidProof` unless ``proof`` shows ``leaf`` at ``position`` of the tree of
    ``size`` leaves whose root is ``root``."""
    parsed = InclusionProof.deserialize(proof)
    parsed.verify(leaf, root, index=position + 1, size=size, algorithm=ALGORITHM)


def check_consistency(
    proof: dict[str, Any], *, prior_root: bytes, prior_size: int, root: bytes, size: int
) -> None:
    """Raise :class:`InvalidProof` unless ``proof`` shows that the tree of ``prior_size`` leaves
    (root ``prior_root``) is a prefix of the tree of ``size`` leaves (root ``root``)."""
    parsed = ConsistencyProof.deserialize(proof)
    parsed.verify(prior_root, root, prior_size=prior_size, later_size=size, algorithm=ALGORITHM)
