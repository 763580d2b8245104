"""Allocation codes (§6, §11): unique, readable, unrelated to the arm and order."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from combat_norse.randomization import (
    ARMS,
    CODE_ALPHABET,
    CODE_LENGTH,
    STRATA,
    CodeBook,
    ListSlot,
    generate_list,
    is_valid_code,
    minimization_code,
    new_seed,
)

SEED = 731_554_902


@pytest.fixture(scope="module")
def big_list() -> list[ListSlot]:
    return generate_list(SEED, blocks_per_stratum=300)  # ≈ 3 600 slots


@pytest.mark.req("§6")
def test_alphabet_has_32_unambiguous_symbols() -> None:
    assert len(CODE_ALPHABET) == 32 == len(set(CODE_ALPHABET))
    assert not set("01IO") & set(CODE_ALPHABET)
    assert CODE_ALPHABET == CODE_ALPHABET.upper()


@pytest.mark.req("§6")
def test_every_code_has_the_code_shape_and_is_unique_across_the_list(
    big_list: list[ListSlot],
) -> None:
    codes = [s.code for s in big_list]
    assert all(len(c) == CODE_LENGTH and is_valid_code(c) for c in codes)
    assert len(set(codes)) == len(codes)


@pytest.mark.req("§6")
@settings(max_examples=25, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**64), n=st.integers(min_value=1, max_value=60))
def test_codes_are_unique_for_any_seed(seed: int, n: int) -> None:
    codes = [s.code for s in generate_list(seed, blocks_per_stratum=n)]
    assert len(set(codes)) == len(codes)


@pytest.mark.req("§6")
def test_code_book_is_a_bijection_the_statistician_can_invert() -> None:
    book = CodeBook(SEED)
    for stratum_number in range(len(STRATA)):
        for sequence in (1, 2, 999, 2**32):
            assert book.locate(book.code(stratum_number, sequence)) == (stratum_number, sequence)
    with pytest.raises(ValueError, match="not an allocation code"):
        book.locate("ABC")


@pytest.mark.req("§6", "§11")
def test_code_symbols_do_not_predict_the_arm(big_list: list[ListSlot]) -> None:
    """No symbol bit at any position separates the arms (40 checks at 4.5 binomial SEs)."""
    is_first = np.array([s.arm == ARMS[0] for s in big_list])
    values = np.array([[CODE_ALPHABET.index(ch) for ch in s.code] for s in big_list])
    n = len(big_list)
    for position in range(CODE_LENGTH):
        for bit in range(5):
            on = (values[:, position] >> bit) & 1 == 1
            # Under independence the share of ARMS[0] among "bit on" codes is 1/2 ± SE.
            share = is_first[on].mean()
            se = (0.25 / on.sum()) ** 0.5
            assert abs(share - 0.5) <= 4.5 * se, (position, bit, share)
    # ...and the parity of the whole code (a "trivial" encoding) is not the arm either.
    parity = values.sum(axis=1) % 2 == 1
    assert abs((parity == is_first).mean() - 0.5) <= 4.5 * (0.25 / n) ** 0.5


@pytest.mark.req("§6", "§11")
def test_codes_do_not_reveal_the_order(big_list: list[ListSlot]) -> None:
    rows = [s for s in big_list if s.stratum == "adult/early"]
    sequence = np.array([s.sequence for s in rows], dtype=float)
    code_rank = np.argsort(np.argsort([s.code for s in rows])).astype(float)
    rho = np.corrcoef(sequence, code_rank)[0, 1]  # Spearman's rho
    assert abs(rho) <= 4.5 / (len(rows) - 1) ** 0.5
    # Neighbouring slots do not share a prefix more than chance would give.
    shared = sum(a.code[0] == b.code[0] for a, b in itertools.pairwise(rows))
    assert shared <= (len(rows) / 32) + 4.5 * (len(rows) / 32) ** 0.5


@pytest.mark.req("§6")
def test_minimization_codes_are_deterministic_unique_and_distinct_from_block_codes() -> None:
    codes = [minimization_code(SEED, k) for k in range(1, 501)]
    assert codes == [minimization_code(SEED, k) for k in range(1, 501)]
    assert len(set(codes)) == 500 and all(is_valid_code(c) for c in codes)
    assert codes[0] != CodeBook(SEED).code(0, 1)
    with pytest.raises(ValueError, match="sequence"):
        minimization_code(SEED, 0)


@pytest.mark.req("§6", "§11")
def test_new_seeds_have_128_bits_and_generate_a_list() -> None:
    seeds = {new_seed() for _ in range(50)}
    assert len(seeds) == 50
    assert all(0 <= s < 2**128 for s in seeds)
    assert max(seeds) >= 2**120  # 50 draws all below 2**120 has probability 2**-400
    assert len(CodeBook(max(seeds)).code(0, 1)) > 0  # the code book takes a seed this large
