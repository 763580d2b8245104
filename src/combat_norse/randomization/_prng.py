"""Seed derivation and the few draws the randomization algorithms make (internal).

Every random quantity in this package comes from a PCG64 bit generator seeded with
``numpy.random.SeedSequence([seed, DOMAIN, *words])``: the recorded seed, a constant that
separates the uses (block lists, allocation codes, minimization), and the integers that
identify the draw (a stratum number and a block number, or a participant's sequence number).
Each block and each minimization step therefore has its own generator, so the output for one
block never depends on how many other blocks were generated before it.

Only the *raw* 64-bit outputs of PCG64 are used, turned into integers, uniforms and shuffles by
the short functions below. ``SeedSequence`` and the PCG64 bit stream are stable across numpy
releases; the methods of ``numpy.random.Generator`` (``integers``, ``permutation``, ...) are not
promised to be (NEP 19), so we do not let a numpy upgrade silently change a list.
"""

from __future__ import annotations

import hashlib
import operator
import secrets
from collections.abc import Sequence
from typing import TypeVar

import numpy as np

T = TypeVar("T")

#: Domain-separation constants: the second word of every SeedSequence entropy list.
DOMAIN_BLOCKS = 1
DOMAIN_BLOCK_CODES = 2
DOMAIN_MINIMIZATION = 3
DOMAIN_MINIMIZATION_CODES = 4

_TWO_64 = 1 << 64


def check_seed(seed: int) -> int:
    """Return ``seed`` if it is a non-negative ``int`` (not a bool), else raise ValueError."""
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed}")
    return seed


#: Bits of a fresh seed. The algorithms are public, so a list is concealed only by its seed:
#: 2^128 seeds cannot be tried one by one against the codes and arms that sites see (the
#: list's row keeps it as decimal digits: more than a database integer holds).
NEW_SEED_BITS = 128


def new_seed() -> int:
    """A fresh 128-bit seed from the operating system's CSPRNG, for setting up a new list.

    Seeds must be large and unpredictable: anyone who knows the (public) algorithm and sees a
    few codes or arms could try every small seed, regenerate the whole list and so learn the
    next allocations. A hand-picked seed such as 12345 is fine for tests, never for production.
    """
    return secrets.randbits(NEW_SEED_BITS)


def check_count(name: str, value: int, minimum: int) -> int:
    """Return ``value`` if it is an ``int`` (not a bool) ≥ ``minimum``, else raise ValueError."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be ≥ {minimum}, got {value}")
    return value


def label_number(label: str) -> int:
    """A stable 128-bit integer for a text label (a stratum name).

    The first 16 bytes of SHA-256 of the UTF-8 text, big-endian. Python's ``hash()`` is salted
    per process and must never be used for this.
    """
    return int.from_bytes(hashlib.sha256(label.encode("utf-8")).digest()[:16], "big")


def bit_generator(seed: int, domain: int, *words: int) -> np.random.PCG64:
    """The PCG64 bit generator for ``SeedSequence([seed, domain, *words])``."""
    return np.random.PCG64(np.random.SeedSequence([seed, domain, *words]))


def raw64(bits: np.random.PCG64) -> int:
    """The next raw 64-bit output of ``bits`` as a Python int."""
    return operator.index(bits.random_raw())


def uniform(bits: np.random.PCG64) -> float:
    """A uniform float in [0, 1) with 53 random bits: ``(raw >> 11) / 2**53``."""
    return (raw64(bits) >> 11) * (1.0 / (1 << 53))


def below(bits: np.random.PCG64, n: int) -> int:
    """An unbiased integer in ``range(n)`` (rejection sampling on raw 64-bit outputs)."""
    if n < 1:
        raise ValueError(f"n must be ≥ 1, got {n}")
    limit = _TWO_64 - (_TWO_64 % n)
    while True:
        r = raw64(bits)
        if r < limit:
            return r % n


def shuffled(bits: np.random.PCG64, items: Sequence[T]) -> list[T]:
    """A Fisher–Yates shuffle of ``items`` (from the last position down to the second)."""
    out = list(items)
    for i in range(len(out) - 1, 0, -1):
        j = below(bits, i + 1)
        out[i], out[j] = out[j], out[i]
    return out


def derived_key(seed: int, domain: int, n_bytes: int = 32) -> bytes:
    """``n_bytes`` of key material from ``SeedSequence([seed, domain])`` (little-endian words)."""
    words = np.random.SeedSequence([seed, domain]).generate_state(n_bytes // 4, dtype=np.uint32)
    return words.astype("<u4").tobytes()
