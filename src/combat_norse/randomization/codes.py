"""Allocation codes: 8 characters a site can read over the phone, unique within a list.

A code is a keyed pseudo-random *permutation* of the slot's identity, not a random draw:

    slot id  = stratum_number · 2**32 + (sequence − 1)                       (40 bits)
    code     = base32(Feistel_key(slot id))      key = SeedSequence([seed, domain]) state

The Feistel network (8 rounds on two 20-bit halves, round function keyed BLAKE2b) is a bijection
on 40-bit integers, so two different slots can never get the same code: uniqueness holds by
construction, with no collision handling whose outcome would depend on how a list was chunked.
The arm never enters the computation, and without the seed the code is unrelated to the slot's
position, so a code reveals neither the arm nor the order.

The alphabet has 32 symbols (digits and capitals without 0/O, 1/I), exactly 5 bits each, so the
40 bits map onto 8 symbols with no bias.
"""

from __future__ import annotations

import hashlib

from combat_norse.randomization._prng import (
    DOMAIN_BLOCK_CODES,
    DOMAIN_MINIMIZATION_CODES,
    check_count,
    check_seed,
    derived_key,
)

CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
CODE_LENGTH = 8
FEISTEL_ROUNDS = 8
_HALF_BITS = 20
_HALF_MASK = (1 << _HALF_BITS) - 1
_SEQUENCE_BITS = 32
#: Largest number of strata a permuted-block list may have (8 bits of the slot id).
MAX_STRATA = 1 << (5 * CODE_LENGTH - _SEQUENCE_BITS)
#: Largest sequence number within one stratum (or of a minimization list).
MAX_SEQUENCE = 1 << _SEQUENCE_BITS


def _round(key: bytes, round_number: int, half: int) -> int:
    digest = hashlib.blake2b(
        bytes([round_number]) + half.to_bytes(3, "big"), key=key, digest_size=8
    ).digest()
    return int.from_bytes(digest, "big") & _HALF_MASK


def _permute(key: bytes, value: int) -> int:
    left, right = value >> _HALF_BITS, value & _HALF_MASK
    for r in range(FEISTEL_ROUNDS):
        left, right = right, left ^ _round(key, r, right)
    return (left << _HALF_BITS) | right


def _unpermute(key: bytes, value: int) -> int:
    left, right = value >> _HALF_BITS, value & _HALF_MASK
    for r in reversed(range(FEISTEL_ROUNDS)):
        left, right = right ^ _round(key, r, left), left
    return (left << _HALF_BITS) | right


def _encode(value: int) -> str:
    chars = [CODE_ALPHABET[(value >> (5 * i)) & 31] for i in reversed(range(CODE_LENGTH))]
    return "".join(chars)


def _decode(code: str) -> int:
    value = 0
    for ch in code:
        value = (value << 5) | CODE_ALPHABET.index(ch)
    return value


def is_valid_code(code: str) -> bool:
    """True if ``code`` has the allocation-code shape (8 symbols of :data:`CODE_ALPHABET`)."""
    return len(code) == CODE_LENGTH and all(ch in CODE_ALPHABET for ch in code)


def _slot_id(stratum_number: int, sequence: int) -> int:
    check_count("stratum number", stratum_number, 0)
    check_count("sequence", sequence, 1)
    if stratum_number >= MAX_STRATA:
        raise ValueError(f"stratum number must be < {MAX_STRATA}, got {stratum_number}")
    if sequence > MAX_SEQUENCE:
        raise ValueError(f"sequence must be ≤ {MAX_SEQUENCE}, got {sequence}")
    return (stratum_number << _SEQUENCE_BITS) | (sequence - 1)


class CodeBook:
    """The code permutation of one list: build once per seed, then call :meth:`code`."""

    def __init__(self, seed: int, domain: int = DOMAIN_BLOCK_CODES) -> None:
        self._key = derived_key(check_seed(seed), domain)

    def code(self, stratum_number: int, sequence: int) -> str:
        """The code of slot ``sequence`` (1-based) of the stratum numbered ``stratum_number``."""
        return _encode(_permute(self._key, _slot_id(stratum_number, sequence)))

    def locate(self, code: str) -> tuple[int, int]:
        """Invert :meth:`code`: ``(stratum_number, sequence)``; for the statistician's tools."""
        if not is_valid_code(code):
            raise ValueError(f"not an allocation code: {code!r}")
        slot = _unpermute(self._key, _decode(code))
        return slot >> _SEQUENCE_BITS, (slot & (MAX_SEQUENCE - 1)) + 1


def block_code(seed: int, stratum_number: int, sequence: int) -> str:
    """The allocation code of one permuted-block slot (see the module docstring)."""
    return CodeBook(seed).code(stratum_number, sequence)


def minimization_code(seed: int, sequence_number: int) -> str:
    """The allocation code of the ``sequence_number``-th (1-based) minimization allocation."""
    return CodeBook(seed, DOMAIN_MINIMIZATION_CODES).code(0, sequence_number)
