"""Stratified permuted blocks with randomly chosen block sizes (§6, default design).

Each block is generated from its own seeded generator,

    PCG64(SeedSequence([seed, 1, stratum_number, block_number]))

where ``stratum_number`` is the first 128 bits of SHA-256 of the stratum name. The first draw
picks the block size uniformly from the allowed sizes (sorted ascending); a Fisher–Yates shuffle
then orders ``size / len(arms)`` copies of each arm. A block therefore depends on the seed, the
stratum and the block number alone, so generating blocks 1–50 and later 51–80 gives exactly the
rows of generating 1–80 at once; this is how an audited extension of a list works. Sequence
numbers (1-based within a stratum) are the running total of the sizes of the earlier blocks,
which an extension recomputes from the same per-block generators.

Each slot gets an allocation code from :mod:`combat_norse.randomization.codes` (a keyed
permutation of the slot's stratum index and sequence number: unique, and unrelated to the arm).

Any change to what these functions output for the same inputs must bump
:data:`PERMUTED_BLOCKS_VERSION`: a list is identified by its seed *and* algorithm version.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from combat_norse.randomization._prng import (
    DOMAIN_BLOCKS,
    below,
    bit_generator,
    check_count,
    check_seed,
    label_number,
    shuffled,
)
from combat_norse.randomization.codes import MAX_STRATA, CodeBook

ARMS: tuple[str, str] = ("anakinra", "tocilizumab")
PERMUTED_BLOCKS_VERSION = "permuted_blocks/1"
DEFAULT_BLOCK_SIZES: tuple[int, ...] = (2, 4)

AGE_GROUPS: tuple[str, str] = ("pediatric", "adult")
ONSET_WINDOWS: tuple[str, str] = ("early", "late")
STRATA: tuple[str, ...] = tuple(f"{a}/{o}" for a in AGE_GROUPS for o in ONSET_WINDOWS)

#: Alert the statistician when a stratum has this many unused slots or fewer (two blocks of the
#: largest default size plus a margin: enough time to generate and audit an extension).
LIST_ALERT_THRESHOLD = 10

#: verify_list regenerates a stratum at most this far when the list's length is not given.
MAX_VERIFIED_SEQUENCE = 100_000


@dataclass(frozen=True)
class ListSlot:
    """One row of a permuted-block allocation list."""

    stratum: str
    sequence: int  # 1-based within the stratum
    block_number: int  # 1-based within the stratum
    block_size: int
    position_in_block: int  # 1-based
    arm: str
    code: str


def stratum_key(age_group: str, onset_window: str) -> str:
    """The stratum name of the default design, e.g. ``stratum_key("adult", "early")``."""
    if age_group not in AGE_GROUPS:
        raise ValueError(f"unknown age_group {age_group!r}; expected one of {AGE_GROUPS}")
    if onset_window not in ONSET_WINDOWS:
        raise ValueError(f"unknown onset_window {onset_window!r}; expected one of {ONSET_WINDOWS}")
    return f"{age_group}/{onset_window}"


def _check_arms(arms: Sequence[str]) -> tuple[str, ...]:
    arms = tuple(arms)
    if len(arms) < 2:
        raise ValueError(f"arms must name at least two arms, got {arms!r}")
    if any(not isinstance(a, str) or not a for a in arms) or len(set(arms)) != len(arms):
        raise ValueError(f"arms must be distinct non-empty strings, got {arms!r}")
    return arms


def _check_block_sizes(block_sizes: Sequence[int], n_arms: int) -> tuple[int, ...]:
    sizes = tuple(block_sizes)
    if not sizes:
        raise ValueError("block_sizes is empty; give at least one block size")
    for size in sizes:
        if isinstance(size, bool) or not isinstance(size, int) or size < n_arms:
            raise ValueError(f"block size {size!r} must be an integer ≥ {n_arms}")
        if size % n_arms:
            raise ValueError(
                f"block size {size} is not a multiple of the {n_arms} arms "
                f"({'odd' if n_arms == 2 else 'uneven'}): 1:1 allocation needs equal arms "
                "in every block"
            )
    if len(set(sizes)) != len(sizes):
        raise ValueError(f"block_sizes has duplicates: {sizes}")
    return tuple(sorted(sizes))


def _check_strata(strata: Sequence[str]) -> tuple[str, ...]:
    strata = tuple(strata)
    if not strata:
        raise ValueError("strata is empty")
    if len(set(strata)) != len(strata):
        raise ValueError(f"strata has duplicates: {strata}")
    if len(strata) > MAX_STRATA:
        raise ValueError(f"at most {MAX_STRATA} strata, got {len(strata)}")
    return strata


def _stratum_index(stratum: str, strata: tuple[str, ...]) -> int:
    if stratum not in strata:
        raise ValueError(f"unknown stratum {stratum!r}; expected one of {strata}")
    return strata.index(stratum)


def _block_size(seed: int, stratum_id: int, block_number: int, sizes: tuple[int, ...]) -> int:
    bits = bit_generator(seed, DOMAIN_BLOCKS, stratum_id, block_number)
    return sizes[below(bits, len(sizes))]


def _block_arms(
    seed: int, stratum_id: int, block_number: int, sizes: tuple[int, ...], arms: tuple[str, ...]
) -> list[str]:
    bits = bit_generator(seed, DOMAIN_BLOCKS, stratum_id, block_number)
    size = sizes[below(bits, len(sizes))]
    per_arm = size // len(arms)
    return shuffled(bits, [arm for arm in arms for _ in range(per_arm)])


def generate_blocks(
    seed: int,
    stratum: str,
    first_block: int,
    n_blocks: int,
    block_sizes: Sequence[int] = DEFAULT_BLOCK_SIZES,
    arms: Sequence[str] = ARMS,
    *,
    strata: Sequence[str] = STRATA,
) -> list[ListSlot]:
    """Blocks ``first_block`` … ``first_block + n_blocks − 1`` of one stratum's list.

    Parameters
    ----------
    seed
        The list's recorded seed (a non-negative integer; use :func:`new_seed` for a new list).
    stratum
        A member of ``strata``.
    first_block
        1-based number of the first block to generate (``next_block_number`` for an extension).
    n_blocks
        How many blocks (0 gives an empty list).
    block_sizes, arms, strata
        The design; each block holds ``size / len(arms)`` of each arm. The position of
        ``stratum`` in ``strata`` enters the allocation codes only.

    Examples
    --------
    >>> whole = generate_blocks(7, "adult/early", 1, 8)
    >>> whole == generate_blocks(7, "adult/early", 1, 5) + generate_blocks(7, "adult/early", 6, 3)
    True
    """
    seed = check_seed(seed)
    arms = _check_arms(arms)
    sizes = _check_block_sizes(block_sizes, len(arms))
    strata = _check_strata(strata)
    index = _stratum_index(stratum, strata)
    check_count("first_block", first_block, 1)
    check_count("n_blocks", n_blocks, 0)

    stratum_id = label_number(stratum)
    sequence = sum(_block_size(seed, stratum_id, b, sizes) for b in range(1, first_block))
    book = CodeBook(seed)
    slots: list[ListSlot] = []
    for block_number in range(first_block, first_block + n_blocks):
        block = _block_arms(seed, stratum_id, block_number, sizes, arms)
        for position, arm in enumerate(block, start=1):
            sequence += 1
            slots.append(
                ListSlot(
                    stratum=stratum,
                    sequence=sequence,
                    block_number=block_number,
                    block_size=len(block),
                    position_in_block=position,
                    arm=arm,
                    code=book.code(index, sequence),
                )
            )
    return slots


def generate_list(
    seed: int,
    strata: Sequence[str] = STRATA,
    blocks_per_stratum: int = 50,
    block_sizes: Sequence[int] = DEFAULT_BLOCK_SIZES,
    arms: Sequence[str] = ARMS,
) -> list[ListSlot]:
    """Blocks 1 … ``blocks_per_stratum`` of every stratum, stratum by stratum in order."""
    strata = _check_strata(strata)
    return [
        slot
        for stratum in strata
        for slot in generate_blocks(
            seed, stratum, 1, blocks_per_stratum, block_sizes, arms, strata=strata
        )
    ]


def next_block_number(slots: Iterable[ListSlot], stratum: str) -> int:
    """The block number an extension of ``stratum`` starts at (1 for an empty stratum)."""
    return 1 + max((s.block_number for s in slots if s.stratum == stratum), default=0)


def list_capacity_alert(remaining: int, threshold: int = LIST_ALERT_THRESHOLD) -> bool:
    """True when a stratum with ``remaining`` unused slots should be extended now."""
    check_count("remaining", remaining, 0)
    check_count("threshold", threshold, 0)
    return remaining <= threshold


def _fields(slot: ListSlot) -> dict[str, object]:
    return {
        "block_number": slot.block_number,
        "block_size": slot.block_size,
        "position_in_block": slot.position_in_block,
        "arm": slot.arm,
        "code": slot.code,
    }


def verify_list(
    seed: int,
    slots: Iterable[ListSlot],
    block_sizes: Sequence[int] = DEFAULT_BLOCK_SIZES,
    arms: Sequence[str] = ARMS,
    *,
    strata: Sequence[str] = STRATA,
    blocks_per_stratum: int | None = None,
    algorithm_version: str = PERMUTED_BLOCKS_VERSION,
) -> list[str]:
    """Regenerate a stored list from its seed and return every discrepancy (``[]`` = it matches).

    Each stratum present in ``slots`` is regenerated in whole blocks up to its highest
    sequence number, so a changed arm, code, block size or position, a missing row (also at the
    end of a partly stored block), a duplicate and an extra row are all reported. With
    ``blocks_per_stratum`` every stratum must hold exactly blocks 1 … ``blocks_per_stratum``,
    which also catches whole blocks or strata cut off at the end; pass the list's recorded
    length whenever it is known. Without it, a stray row with a large sequence number is
    reported together with every row "missing" below it.
    """
    if algorithm_version != PERMUTED_BLOCKS_VERSION:
        raise ValueError(
            f"cannot verify algorithm version {algorithm_version!r}; this code implements "
            f"{PERMUTED_BLOCKS_VERSION!r}"
        )
    seed = check_seed(seed)
    arms = _check_arms(arms)
    sizes = _check_block_sizes(block_sizes, len(arms))
    strata = _check_strata(strata)
    if blocks_per_stratum is not None:
        check_count("blocks_per_stratum", blocks_per_stratum, 0)

    problems: list[str] = []
    stored: dict[str, dict[int, ListSlot]] = defaultdict(dict)
    for row_number, slot in enumerate(slots, start=1):
        if slot.stratum not in strata:
            problems.append(f"row {row_number}: unknown stratum {slot.stratum!r}")
        elif slot.sequence in stored[slot.stratum]:
            problems.append(f"{slot.stratum} #{slot.sequence}: duplicate row")
        else:
            stored[slot.stratum][slot.sequence] = slot

    for stratum in strata:
        rows = stored.get(stratum, {})
        if blocks_per_stratum is not None:
            expected = generate_blocks(
                seed, stratum, 1, blocks_per_stratum, sizes, arms, strata=strata
            )
        elif rows:
            # Whole blocks up to the highest stored sequence number (at most
            # MAX_VERIFIED_SEQUENCE; a row beyond it is reported as unexpected).
            target = min(max(rows), MAX_VERIFIED_SEQUENCE)
            stratum_id, covered, n_blocks = label_number(stratum), 0, 0
            while covered < target:
                n_blocks += 1
                covered += _block_size(seed, stratum_id, n_blocks, sizes)
            expected = generate_blocks(seed, stratum, 1, n_blocks, sizes, arms, strata=strata)
        else:
            continue
        expected_sequences = {e.sequence for e in expected}
        for want in expected:
            got = rows.get(want.sequence)
            if got is None:
                problems.append(f"{stratum} #{want.sequence}: missing row")
                continue
            got_fields, want_fields = _fields(got), _fields(want)
            for name, value in want_fields.items():
                if got_fields[name] != value:
                    problems.append(
                        f"{stratum} #{want.sequence}: {name} is {got_fields[name]!r}, "
                        f"expected {value!r}"
                    )
        for sequence in sorted(set(rows) - expected_sequences):
            problems.append(f"{stratum} #{sequence}: unexpected row beyond the list")
    return problems
