"""Stratified permuted blocks (§6): balance, determinism, extension, verification."""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
from collections import Counter
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from combat_norse.randomization import (
    ARMS,
    LIST_ALERT_THRESHOLD,
    PERMUTED_BLOCKS_VERSION,
    STRATA,
    ListSlot,
    generate_blocks,
    generate_list,
    list_capacity_alert,
    next_block_number,
    stratum_key,
    verify_list,
)

SEED = 20240601

seeds = st.integers(min_value=0, max_value=2**128 - 1)
block_size_sets = st.sampled_from([(2,), (4,), (2, 4), (2, 4, 6), (4, 8)])


def _by_stratum(slots: list[ListSlot]) -> dict[str, list[ListSlot]]:
    out: dict[str, list[ListSlot]] = {}
    for slot in slots:
        out.setdefault(slot.stratum, []).append(slot)
    return out


# --- balance properties --------------------------------------------------------------------


@pytest.mark.req("§6")
@settings(max_examples=40, deadline=None)
@given(seed=seeds, sizes=block_size_sets, n_blocks=st.integers(min_value=0, max_value=40))
def test_every_prefix_of_every_stratum_is_within_half_a_block_and_balanced_at_block_ends(
    seed: int, sizes: tuple[int, ...], n_blocks: int
) -> None:
    slots = generate_list(seed, blocks_per_stratum=n_blocks, block_sizes=sizes)
    by_stratum = _by_stratum(slots)
    assert set(by_stratum) == (set(STRATA) if n_blocks else set())
    for rows in by_stratum.values():
        assert [r.sequence for r in rows] == list(range(1, len(rows) + 1))
        diff = 0
        for row in rows:
            diff += 1 if row.arm == ARMS[0] else -1
            assert abs(diff) <= max(sizes) // 2
            if row.position_in_block == row.block_size:
                assert diff == 0


@pytest.mark.req("§6")
@settings(max_examples=40, deadline=None)
@given(seed=seeds, sizes=block_size_sets, n_blocks=st.integers(min_value=1, max_value=30))
def test_each_block_has_equal_arms_and_an_allowed_size(
    seed: int, sizes: tuple[int, ...], n_blocks: int
) -> None:
    rows = generate_blocks(seed, "pediatric/late", 1, n_blocks, sizes)
    blocks: dict[int, list[ListSlot]] = {}
    for row in rows:
        blocks.setdefault(row.block_number, []).append(row)
    assert sorted(blocks) == list(range(1, n_blocks + 1))
    for block in blocks.values():
        size = block[0].block_size
        assert size in sizes
        assert len(block) == size
        assert [r.position_in_block for r in block] == list(range(1, size + 1))
        assert Counter(r.arm for r in block) == {ARMS[0]: size // 2, ARMS[1]: size // 2}


@pytest.mark.req("§6")
def test_both_block_sizes_occur_about_equally_often_and_arms_are_one_to_one() -> None:
    slots = generate_list(SEED, blocks_per_stratum=500)
    first_rows = [s for s in slots if s.position_in_block == 1]
    n = len(first_rows)  # 2000 blocks
    fours = sum(s.block_size == 4 for s in first_rows)
    # Block size is a fair choice between 2 and 4: binomial SE sqrt(n/4) ≈ 22; allow 4 SE.
    assert abs(fours - n / 2) <= 4 * (n / 4) ** 0.5
    assert Counter(s.arm for s in slots)[ARMS[0]] * 2 == len(slots)


# --- determinism and extension -----------------------------------------------------------


@pytest.mark.req("§6")
def test_same_seed_gives_the_same_list() -> None:
    assert generate_list(SEED, blocks_per_stratum=30) == generate_list(SEED, blocks_per_stratum=30)


@pytest.mark.req("§6")
def test_different_seeds_give_different_lists() -> None:
    lists = [tuple(s.arm for s in generate_list(seed, blocks_per_stratum=30)) for seed in range(20)]
    assert len(set(lists)) == len(lists)
    codes = [{s.code for s in generate_list(seed, blocks_per_stratum=5)} for seed in range(20)]
    assert all(a.isdisjoint(b) for i, a in enumerate(codes) for b in codes[i + 1 :])


@pytest.mark.req("§6")
def test_strata_get_different_sequences_under_one_seed() -> None:
    arms = {
        stratum: tuple(s.arm for s in generate_blocks(SEED, stratum, 1, 30)) for stratum in STRATA
    }
    assert len(set(arms.values())) == len(STRATA)


@pytest.mark.req("§6")
@settings(max_examples=30, deadline=None)
@given(
    seed=seeds,
    stratum=st.sampled_from(STRATA),
    cuts=st.lists(st.integers(min_value=0, max_value=80), max_size=4),
)
def test_generating_in_chunks_gives_exactly_the_rows_of_generating_at_once(
    seed: int, stratum: str, cuts: list[int]
) -> None:
    whole = generate_blocks(seed, stratum, 1, 80)
    bounds = [0, *sorted(cuts), 80]
    chunked: list[ListSlot] = []
    for lo, hi in itertools.pairwise(bounds):
        chunked += generate_blocks(seed, stratum, lo + 1, hi - lo)
    assert chunked == whole


@pytest.mark.req("§6")
def test_audited_extension_continues_from_next_block_number() -> None:
    stored = generate_list(SEED, blocks_per_stratum=50)
    stratum = "adult/early"
    first = next_block_number(stored, stratum)
    assert first == 51
    extended = stored + generate_blocks(SEED, stratum, first, 30)
    assert [s for s in extended if s.stratum == stratum] == generate_blocks(SEED, stratum, 1, 80)
    assert verify_list(SEED, extended) == []
    assert next_block_number([], stratum) == 1


@pytest.mark.req("§6")
def test_block_sizes_order_does_not_change_the_list() -> None:
    assert generate_blocks(SEED, "adult/late", 1, 20, (4, 2)) == generate_blocks(
        SEED, "adult/late", 1, 20, (2, 4)
    )


@pytest.mark.req("§6")
def test_known_answer_for_the_recorded_algorithm_version() -> None:
    """Golden rows of ``permuted_blocks/1``. If this fails, the algorithm's output changed:
    bump PERMUTED_BLOCKS_VERSION and keep the old version able to regenerate old lists."""
    assert PERMUTED_BLOCKS_VERSION == "permuted_blocks/1"
    rows = [
        (s.sequence, s.block_number, s.block_size, s.position_in_block, s.arm, s.code)
        for s in generate_blocks(SEED, "adult/late", 1, 4)
    ]
    assert rows == [
        (1, 1, 2, 1, "tocilizumab", "LZ4T6KAJ"),
        (2, 1, 2, 2, "anakinra", "38PC8VFP"),
        (3, 2, 4, 1, "tocilizumab", "CVMQ63DL"),
        (4, 2, 4, 2, "anakinra", "L4HL49HF"),
        (5, 2, 4, 3, "anakinra", "7HL93HK4"),
        (6, 2, 4, 4, "tocilizumab", "6CJ7DWZH"),
        (7, 3, 2, 1, "anakinra", "ASZLRGT4"),
        (8, 3, 2, 2, "tocilizumab", "DU8Z67XK"),
        (9, 4, 4, 1, "anakinra", "MPSC2ZAM"),
        (10, 4, 4, 2, "anakinra", "E7FXV93W"),
        (11, 4, 4, 3, "tocilizumab", "67AEQ6U6"),
        (12, 4, 4, 4, "tocilizumab", "5FE74KJJ"),
    ]


@pytest.mark.req("§6")
def test_documented_recipe_regenerates_the_arms_with_plain_numpy() -> None:
    """An independent re-implementation of the README recipe, for an outside auditor."""
    seed, stratum, sizes = SEED, "pediatric/early", (2, 4)
    stratum_number = int.from_bytes(hashlib.sha256(stratum.encode()).digest()[:16], "big")

    def below(bits: np.random.PCG64, n: int) -> int:
        limit = 2**64 - 2**64 % n
        while (r := int(bits.random_raw())) >= limit:
            pass
        return r % n

    arms: list[str] = []
    for block in range(1, 41):
        bits = np.random.PCG64(np.random.SeedSequence([seed, 1, stratum_number, block]))
        size = sizes[below(bits, len(sizes))]
        cards = [ARMS[0]] * (size // 2) + [ARMS[1]] * (size // 2)
        for i in range(size - 1, 0, -1):
            j = below(bits, i + 1)
            cards[i], cards[j] = cards[j], cards[i]
        arms += cards
    assert arms == [s.arm for s in generate_blocks(seed, stratum, 1, 40)]


# --- verification -------------------------------------------------------------------------


@pytest.fixture
def stored_list() -> list[ListSlot]:
    return generate_list(SEED, blocks_per_stratum=20)


@pytest.mark.req("§6")
def test_verify_accepts_an_untouched_list(stored_list: list[ListSlot]) -> None:
    assert verify_list(SEED, stored_list) == []
    assert verify_list(SEED, stored_list, blocks_per_stratum=20) == []
    assert verify_list(SEED, list(reversed(stored_list))) == []


@pytest.mark.req("§6")
def test_verify_rejects_the_list_under_another_seed(stored_list: list[ListSlot]) -> None:
    assert verify_list(SEED + 1, stored_list)


@pytest.mark.req("§6")
def test_verify_catches_a_swapped_arm(stored_list: list[ListSlot]) -> None:
    i = 17
    other = ARMS[1] if stored_list[i].arm == ARMS[0] else ARMS[0]
    tampered = list(stored_list)
    tampered[i] = dataclasses.replace(stored_list[i], arm=other)
    problems = verify_list(SEED, tampered)
    row = stored_list[i]
    assert problems == [f"{row.stratum} #{row.sequence}: arm is {other!r}, expected {row.arm!r}"]


@pytest.mark.req("§6")
def test_verify_catches_two_rows_exchanging_arms(stored_list: list[ListSlot]) -> None:
    # A swap that keeps each block balanced is still caught.
    rows = stored_list
    i = next(k for k in range(len(rows) - 1) if rows[k].arm != rows[k + 1].arm)
    tampered = list(rows)
    tampered[i] = dataclasses.replace(rows[i], arm=rows[i + 1].arm)
    tampered[i + 1] = dataclasses.replace(rows[i + 1], arm=rows[i].arm)
    assert len(verify_list(SEED, tampered)) == 2


@pytest.mark.req("§6")
def test_verify_catches_a_changed_code(stored_list: list[ListSlot]) -> None:
    tampered = list(stored_list)
    tampered[5] = dataclasses.replace(stored_list[5], code="ABCDEFGH")
    problems = verify_list(SEED, tampered)
    assert len(problems) == 1 and "code is 'ABCDEFGH'" in problems[0]


@pytest.mark.req("§6")
@pytest.mark.parametrize("index", [0, 40, -1])
def test_verify_catches_a_missing_row(stored_list: list[ListSlot], index: int) -> None:
    row = stored_list[index]
    tampered = [s for s in stored_list if s != row]
    problems = verify_list(SEED, tampered)
    assert f"{row.stratum} #{row.sequence}: missing row" in problems


@pytest.mark.req("§6")
def test_verify_catches_a_missing_block_at_the_end_only_when_the_length_is_given(
    stored_list: list[ListSlot],
) -> None:
    last_block = [s for s in stored_list if s.stratum == "adult/late" and s.block_number == 20]
    truncated = [s for s in stored_list if s not in last_block]
    assert verify_list(SEED, truncated) == []  # a shorter list is a valid list
    problems = verify_list(SEED, truncated, blocks_per_stratum=20)
    assert problems == [f"adult/late #{s.sequence}: missing row" for s in last_block]


@pytest.mark.req("§6")
def test_verify_catches_duplicate_unknown_and_extra_rows(stored_list: list[ListSlot]) -> None:
    extra = dataclasses.replace(stored_list[-1], sequence=10_000)
    stranger = dataclasses.replace(stored_list[0], stratum="adult/day9")
    tampered = [*stored_list, stored_list[3], extra, stranger]
    problems = verify_list(SEED, tampered, blocks_per_stratum=20)
    duplicate = stored_list[3]
    assert problems == [
        f"{duplicate.stratum} #{duplicate.sequence}: duplicate row",
        f"row {len(stored_list) + 3}: unknown stratum 'adult/day9'",
        "adult/late #10000: unexpected row beyond the list",
    ]
    # Without the recorded length, the stray row implies a longer list with rows missing.
    unbounded = verify_list(SEED, tampered)
    assert "adult/late #9999: missing row" in unbounded
    assert len(unbounded) > 9_000


@pytest.mark.req("§6")
def test_verify_refuses_an_algorithm_version_it_does_not_implement(
    stored_list: list[ListSlot],
) -> None:
    with pytest.raises(ValueError, match="permuted_blocks/2"):
        verify_list(SEED, stored_list, algorithm_version="permuted_blocks/2")


# --- strata, alert, validation ------------------------------------------------------------


@pytest.mark.req("§6")
def test_strata_are_age_group_by_onset_window() -> None:
    assert STRATA == ("pediatric/early", "pediatric/late", "adult/early", "adult/late")
    assert stratum_key("adult", "late") == "adult/late"
    with pytest.raises(ValueError, match="age_group 'infant'"):
        stratum_key("infant", "early")
    with pytest.raises(ValueError, match="onset_window 'day9'"):
        stratum_key("adult", "day9")


@pytest.mark.req("§6")
def test_capacity_alert_fires_at_the_threshold_and_below() -> None:
    assert LIST_ALERT_THRESHOLD == 10
    assert not list_capacity_alert(11)
    assert list_capacity_alert(10)
    assert list_capacity_alert(0)
    assert list_capacity_alert(4, threshold=4) and not list_capacity_alert(5, threshold=4)
    with pytest.raises(ValueError, match="remaining"):
        list_capacity_alert(-1)


@pytest.mark.req("§6")
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"stratum": "adult/never"}, "unknown stratum 'adult/never'"),
        ({"block_sizes": ()}, "block_sizes is empty"),
        ({"block_sizes": (2, 3)}, "block size 3 is not a multiple"),
        ({"block_sizes": (0,)}, "block size 0"),
        ({"block_sizes": (2, 2)}, "duplicates"),
        ({"n_blocks": -1}, "n_blocks"),
        ({"first_block": 0}, "first_block"),
        ({"seed": -5}, "seed"),
        ({"arms": ("anakinra",)}, "at least two arms"),
        ({"arms": ("anakinra", "anakinra")}, "distinct"),
    ],
)
def test_generate_blocks_rejects_bad_input_naming_the_problem(
    kwargs: dict[str, Any], message: str
) -> None:
    args: dict[str, Any] = {"seed": SEED, "stratum": "adult/early", "first_block": 1, "n_blocks": 3}
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        generate_blocks(**args)


@pytest.mark.req("§6")
def test_three_arm_blocks_hold_each_arm_equally() -> None:
    rows = generate_blocks(SEED, "adult/early", 1, 10, (3, 6), ("a", "b", "c"))
    for block in {r.block_number for r in rows}:
        arms = Counter(r.arm for r in rows if r.block_number == block)
        assert len(set(arms.values())) == 1 and set(arms) == {"a", "b", "c"}
