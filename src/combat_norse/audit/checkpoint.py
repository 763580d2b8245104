"""Signed tree heads kept outside the database, and the keys (no Django here).

A **checkpoint** is one JSON file per seal, ``<checkpoint dir>/<trail id>/<size, 12 digits>.json``:

.. code-block:: json

    {"head": {"algorithm": "RFC9162_SHA256", "root_hash": "<hex>", "timestamp":
              "2025-03-01T08:00:00.000000Z", "trail_id": "<uuid>", "tree_size": 1234},
     "key_id": "<first 16 hex of SHA-256 of the raw public key>",
     "signature": "<base64 Ed25519 signature of the head's canonical JSON>",
     "prev_size": 1200, "leaves": ["<hex leaf hash>", ...], "frontier": ["<hex>", ...]}

``head`` is what a monitor checks with the public key alone; ``leaves`` are the leaf hashes this
seal added (positions ``prev_size .. tree_size - 1``), so the directory alone holds the whole
tree and ``audit verify`` names the first event whose leaf differs from what was signed.
``frontier`` (the roots of the tree's perfect subtrees) lets the next seal extend the tree
without re-reading every leaf; it is checked against the signed root before use.
A file is created once (``O_EXCL``) and never rewritten: the directory is append-only.

Keys (created on the first seal, mode 0600, in a 0700 directory): ``audit-signing.key`` (Ed25519,
PKCS#8 PEM), ``audit-signing.pub`` (its public key, the one a site or monitor needs) and
``audit-leaf.key`` (32 random bytes, hex: the HMAC key of arm-revealing leaves).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from combat_norse.audit.chain import canonical_json

ALGORITHM_NAME = "RFC9162_SHA256"
SIGNING_KEY = "audit-signing.key"
PUBLIC_KEY = "audit-signing.pub"
LEAF_KEY = "audit-leaf.key"


class CheckpointError(Exception):
    """A checkpoint file or a key is unusable (the message says which and why)."""


@dataclass(frozen=True)
class Head:
    """A signed tree head: the trail, its size, its root and when it was signed."""

    trail_id: str
    tree_size: int
    root_hash: str
    timestamp: str

    def as_json(self) -> dict[str, Any]:
        return {
            "algorithm": ALGORITHM_NAME,
            "root_hash": self.root_hash,
            "timestamp": self.timestamp,
            "trail_id": self.trail_id,
            "tree_size": self.tree_size,
        }

    def signed_bytes(self) -> bytes:
        """What the signature covers: the canonical JSON of :meth:`as_json`."""
        return canonical_json(self.as_json()).encode("ascii")


@dataclass(frozen=True)
class Checkpoint:
    head: Head
    signature: str
    key_id: str
    prev_size: int
    leaves: tuple[str, ...]
    frontier: tuple[str, ...] | None = None
    path: Path | None = None


# --- files -----------------------------------------------------------------------------------


def _write_new(path: Path, data: bytes, mode: int) -> bool:
    """Create ``path`` with ``data`` unless it exists; never a half-written file (written next
    to it, then hard-linked into place, which fails if the name exists). True if created."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        return True
    finally:
        tmp.unlink(missing_ok=True)


def private_dir(path: Path) -> Path:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


# --- keys ------------------------------------------------------------------------------------


def key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def ensure_keys(key_dir: Path) -> None:
    """Create the signing key pair and the leaf key under ``key_dir`` if they are missing."""
    private_dir(key_dir)
    if not (key_dir / SIGNING_KEY).exists():
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        if _write_new(key_dir / SIGNING_KEY, pem, 0o600):
            pub = key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            (key_dir / PUBLIC_KEY).unlink(missing_ok=True)
            _write_new(key_dir / PUBLIC_KEY, pub, 0o644)
    if not (key_dir / LEAF_KEY).exists():
        _write_new(key_dir / LEAF_KEY, secrets.token_hex(32).encode("ascii"), 0o600)


def load_signing_key(key_dir: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key((key_dir / SIGNING_KEY).read_bytes(), None)
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"signing key {key_dir / SIGNING_KEY}: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise CheckpointError(f"signing key {key_dir / SIGNING_KEY}: not an Ed25519 key")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"public key {path}: {exc}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise CheckpointError(f"public key {path}: not an Ed25519 key")
    return key


def load_leaf_key(key_dir: Path) -> bytes:
    try:
        return bytes.fromhex((key_dir / LEAF_KEY).read_text(encoding="ascii").strip())
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"leaf key {key_dir / LEAF_KEY}: {exc}") from None


# --- checkpoints -----------------------------------------------------------------------------


def sign_head(head: Head, key: Ed25519PrivateKey) -> str:
    return base64.b64encode(key.sign(head.signed_bytes())).decode("ascii")


def check_signature(head: Head, signature: str, public: Ed25519PublicKey) -> bool:
    try:
        public.verify(base64.b64decode(signature, validate=True), head.signed_bytes())
    except (InvalidSignature, ValueError):
        return False
    return True


def trail_dir(checkpoint_dir: Path, trail_id: str) -> Path:
    return checkpoint_dir / trail_id


def file_name(tree_size: int) -> str:
    return f"{tree_size:012d}.json"


def write_checkpoint(checkpoint_dir: Path, checkpoint: Checkpoint) -> Path:
    """Create the checkpoint's file; an existing file of that size must hold the same head
    (a second sealer wrote it), otherwise :class:`CheckpointError` (a fork of the trail)."""
    folder = private_dir(trail_dir(checkpoint_dir, checkpoint.head.trail_id))
    path = folder / file_name(checkpoint.head.tree_size)
    document = {
        "head": checkpoint.head.as_json(),
        "key_id": checkpoint.key_id,
        "signature": checkpoint.signature,
        "prev_size": checkpoint.prev_size,
        "leaves": list(checkpoint.leaves),
    }
    if checkpoint.frontier is not None:
        document["frontier"] = list(checkpoint.frontier)
    data = (json.dumps(document, sort_keys=True, indent=1) + "\n").encode("ascii")
    if not _write_new(path, data, 0o444):
        existing = read_checkpoint(path)
        if existing.head.root_hash != checkpoint.head.root_hash:
            raise CheckpointError(
                f"{path} already signs size {checkpoint.head.tree_size} with another root: "
                "the trail in the database is not the one checkpointed (restored from a "
                "backup?); run `combat-norse audit verify`"
            )
    return path


def parse_checkpoint(document: Any, path: Path | None = None) -> Checkpoint:
    where = str(path) if path else "checkpoint"
    try:
        head = document["head"]
        parsed = Head(
            trail_id=str(head["trail_id"]),
            tree_size=int(head["tree_size"]),
            root_hash=str(head["root_hash"]),
            timestamp=str(head["timestamp"]),
        )
        if head.get("algorithm") != ALGORITHM_NAME:
            raise ValueError(f"algorithm {head.get('algorithm')!r}")
        leaves = tuple(str(x) for x in document.get("leaves", ()))
        frontier = document.get("frontier")
        return Checkpoint(
            head=parsed,
            signature=str(document["signature"]),
            key_id=str(document.get("key_id", "")),
            prev_size=int(document.get("prev_size", 0)),
            leaves=leaves,
            frontier=None if frontier is None else tuple(str(x) for x in frontier),
            path=path,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{where}: malformed ({exc})") from None


def read_checkpoint(path: Path) -> Checkpoint:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"{path}: unreadable ({exc})") from None
    return parse_checkpoint(document, path)


def checkpoint_paths(checkpoint_dir: Path, trail_id: str) -> list[Path]:
    """The trail's checkpoint files in size order."""
    folder = trail_dir(checkpoint_dir, trail_id)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix == ".json" and p.name[0] != ".")


def iter_checkpoints(checkpoint_dir: Path, trail_id: str) -> Iterator[Checkpoint]:
    for path in checkpoint_paths(checkpoint_dir, trail_id):
        yield read_checkpoint(path)


def latest_checkpoint(checkpoint_dir: Path, trail_id: str) -> Checkpoint | None:
    paths = checkpoint_paths(checkpoint_dir, trail_id)
    return read_checkpoint(paths[-1]) if paths else None
