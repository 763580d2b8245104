"""The trail's Merkle tree (RFC 9162 through pymerkle) and its signed checkpoints, without a
database: what a monitor relies on when it checks a head or a proof with the public key."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from combat_norse.audit import checkpoint as cp
from combat_norse.audit.merkle import (
    Frontier,
    InvalidProof,
    LeafTree,
    check_consistency,
    check_inclusion,
    leaf_hash,
)
from combat_norse.audit.monitor import ProofError, check_growth, check_proof

pytestmark = pytest.mark.req("#19")

# The eight leaves of the Certificate Transparency reference tests (RFC 6962 / RFC 9162 share
# the hashing) and the root of each prefix, from Google's certificate-transparency merkle tests.
CT_LEAVES = [bytes.fromhex(h) for h in (
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
)]  # fmt: skip
CT_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


def test_roots_match_the_certificate_transparency_reference_values() -> None:
    leaves = [leaf_hash(data) for data in CT_LEAVES]
    tree = LeafTree(leaves)
    assert [tree.root(n).hex() for n in range(1, 9)] == CT_ROOTS
    assert [Frontier.of(leaves[:n]).root().hex() for n in range(1, 9)] == CT_ROOTS
    empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert LeafTree().root().hex() == Frontier().root().hex() == empty


@given(st.lists(st.binary(max_size=8), max_size=70), st.integers(0, 70))
def test_a_frontier_extended_in_batches_gives_the_full_trees_root(
    data: list[bytes], cut: int
) -> None:
    leaves = [leaf_hash(d) for d in data]
    frontier = Frontier.of(leaves[:cut])
    restored = Frontier(frontier.size, frontier.roots)  # as read back from a checkpoint
    restored.extend(leaves[cut:])
    assert restored.root() == LeafTree(leaves).root()


def test_a_frontier_with_the_wrong_number_of_roots_is_refused() -> None:
    with pytest.raises(ValueError, match="subtree roots"):
        Frontier(3, [b"x"])


def test_inclusion_and_consistency_proofs_check_and_a_wrong_leaf_or_root_fails() -> None:
    leaves = [leaf_hash(bytes([i])) for i in range(13)]
    tree = LeafTree(leaves)
    root = tree.root(13)
    for position in (0, 6, 12):
        proof = tree.inclusion(position, 13)
        check_inclusion(proof, leaf=leaves[position], root=root, position=position, size=13)
        with pytest.raises(InvalidProof):
            check_inclusion(proof, leaf=leaves[position - 1], root=root, position=position,
                            size=13)  # fmt: skip
        with pytest.raises(InvalidProof):
            check_inclusion(proof, leaf=leaves[position], root=tree.root(12), position=position,
                            size=13)  # fmt: skip
    proof = tree.consistency(5, 13)
    check_consistency(proof, prior_root=tree.root(5), prior_size=5, root=root, size=13)
    forked = LeafTree([*leaves[:4], leaf_hash(b"forged"), *leaves[5:]])
    with pytest.raises(InvalidProof):
        check_consistency(proof, prior_root=forked.root(5), prior_size=5, root=root, size=13)


def _head(size: int = 3, root: str = "ab" * 32) -> cp.Head:
    return cp.Head(trail_id="t-1", tree_size=size, root_hash=root,
                   timestamp="2025-03-01T08:00:00.000000Z")  # fmt: skip


def test_keys_are_created_once_private_and_a_signed_head_checks_only_unchanged(
    tmp_path: Path,
) -> None:
    keys = tmp_path / "keys"
    cp.ensure_keys(keys)
    first = (keys / cp.SIGNING_KEY).read_bytes()
    cp.ensure_keys(keys)  # a second sealer: the key is kept
    assert (keys / cp.SIGNING_KEY).read_bytes() == first
    for name in (cp.SIGNING_KEY, cp.LEAF_KEY):
        assert stat.S_IMODE((keys / name).stat().st_mode) == 0o600
    assert stat.S_IMODE(keys.stat().st_mode) == 0o700
    key = cp.load_signing_key(keys)
    public = cp.load_public_key(keys / cp.PUBLIC_KEY)
    signature = cp.sign_head(_head(), key)
    assert cp.check_signature(_head(), signature, public)
    assert not cp.check_signature(_head(size=2), signature, public)
    assert not cp.check_signature(_head(), "not base64!", public)


def test_a_checkpoint_file_is_never_rewritten_and_a_different_root_is_a_fork(
    tmp_path: Path,
) -> None:
    cp.ensure_keys(tmp_path / "keys")
    key = cp.load_signing_key(tmp_path / "keys")
    made = cp.Checkpoint(head=_head(), signature=cp.sign_head(_head(), key), key_id="k",
                         prev_size=0, leaves=("aa" * 32,) * 3)  # fmt: skip
    path = cp.write_checkpoint(tmp_path / "cps", made)
    assert cp.write_checkpoint(tmp_path / "cps", made) == path  # the same head: fine
    assert stat.S_IMODE(path.stat().st_mode) == 0o444
    other = cp.Checkpoint(head=_head(root="cd" * 32), signature="", key_id="k", prev_size=0,
                          leaves=())  # fmt: skip
    with pytest.raises(cp.CheckpointError, match="another root"):
        cp.write_checkpoint(tmp_path / "cps", other)
    assert cp.read_checkpoint(path) == cp.Checkpoint(**{**made.__dict__, "path": path})


def _proof_fixture(tmp_path: Path) -> tuple[dict[str, object], Path]:
    cp.ensure_keys(tmp_path)
    data = [json.dumps({"seq": i}).encode() for i in range(6)]
    leaves = [leaf_hash(d) for d in data]
    tree = LeafTree(leaves)
    head = cp.Head(trail_id="t", tree_size=6, root_hash=tree.root().hex(),
                   timestamp="2025-03-01T08:00:00.000000Z")  # fmt: skip
    proof = {
        "event": 42, "position": 4, "leaf_hash": leaves[4].hex(),
        "leaf_data": data[4].decode(), "inclusion": tree.inclusion(4, 6),
        "checkpoint": {"head": head.as_json(),
                       "signature": cp.sign_head(head, cp.load_signing_key(tmp_path))},
    }  # fmt: skip
    return proof, tmp_path / cp.PUBLIC_KEY


def test_a_monitor_checks_a_proof_with_the_public_key_alone(tmp_path: Path) -> None:
    proof, public = _proof_fixture(tmp_path)
    assert check_proof(proof, public)["position"] == 4
    tampered = {**proof, "leaf_data": '{"seq":5}'}
    with pytest.raises(ProofError, match="leaf data"):
        check_proof(tampered, public)
    moved = {**proof, "position": 3}
    with pytest.raises(ProofError, match="inclusion path"):
        check_proof(moved, public)
    other_key = tmp_path / "other"
    cp.ensure_keys(other_key)
    with pytest.raises(ProofError, match="signature"):
        check_proof(proof, other_key / cp.PUBLIC_KEY)


def test_a_monitor_with_an_earlier_head_sees_growth_and_refuses_a_fork(tmp_path: Path) -> None:
    cp.ensure_keys(tmp_path)
    key = cp.load_signing_key(tmp_path)
    leaves = [leaf_hash(bytes([i])) for i in range(9)]
    tree = LeafTree(leaves)

    def signed(size: int, root: bytes) -> cp.Checkpoint:
        head = cp.Head(trail_id="t", tree_size=size, root_hash=root.hex(),
                       timestamp=f"2025-03-0{size % 9 + 1}T08:00:00.000000Z")  # fmt: skip
        return cp.Checkpoint(head=head, signature=cp.sign_head(head, key), key_id="k",
                             prev_size=0, leaves=())  # fmt: skip

    earlier = cp.write_checkpoint(tmp_path / "kept", signed(4, tree.root(4)))
    latest = signed(9, tree.root(9))
    proof = {"prior_size": 4, "consistency": tree.consistency(4, 9),
             "checkpoint": {"head": latest.head.as_json(), "signature": latest.signature}}
    assert check_growth(proof, tmp_path / cp.PUBLIC_KEY, earlier)["tree_size"] == 9
    forked = LeafTree([leaf_hash(b"rewritten"), *leaves[1:]])  # history rewritten, re-signed
    rewritten = signed(9, forked.root(9))
    forged = {"prior_size": 4, "consistency": forked.consistency(4, 9),
              "checkpoint": {"head": rewritten.head.as_json(),
                             "signature": rewritten.signature}}  # fmt: skip
    with pytest.raises(ProofError, match="not a prefix"):
        check_growth(forged, tmp_path / cp.PUBLIC_KEY, earlier)
