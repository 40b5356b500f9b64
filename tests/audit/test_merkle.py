"""RFC 9162 Merkle trees: the reference test vectors, the recursive definition, and inclusion
proofs for every leaf of trees of every small size."""

from __future__ import annotations

import pytest

from app.audit.merkle import (
    EMPTY_ROOT,
    inclusion_path,
    leaf_hash,
    node_hash,
    root_from_path,
    root_of,
)

# The certificate-transparency test leaves and the roots of their prefixes (RFC 6962/9162
# hashing, as in the reference implementations' tests).
LEAVES = [
    b"",
    bytes.fromhex("00"),
    bytes.fromhex("10"),
    bytes.fromhex("2021"),
    bytes.fromhex("3031"),
    bytes.fromhex("40414243"),
    bytes.fromhex("5051525354555657"),
    bytes.fromhex("606162636465666768696a6b6c6d6e6f"),
]
ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


def _reference_root(leaves: list[bytes]) -> bytes:
    """MTH as RFC 9162 section 2.1.1 defines it, recursively."""
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return node_hash(_reference_root(leaves[:k]), _reference_root(leaves[k:]))


@pytest.mark.parametrize("size", range(1, len(LEAVES) + 1))
def test_roots_match_the_reference_vectors(size: int) -> None:
    assert root_of([leaf_hash(d) for d in LEAVES[:size]]).hex() == ROOTS[size - 1]


def test_the_empty_tree_is_the_hash_of_nothing() -> None:
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_every_inclusion_proof_of_small_trees_verifies_and_no_wrong_one_does() -> None:
    for size in range(1, 34):
        leaves = [leaf_hash(i.to_bytes(2, "big")) for i in range(size)]
        root = root_of(leaves)
        assert root == _reference_root(leaves)
        for index in range(size):
            path = inclusion_path(index, leaves)
            assert root_from_path(index, size, leaves[index], path) == root
            other = (index + 1) % size
            if other != index:
                assert root_from_path(other, size, leaves[index], path) != root
            if path:
                assert root_from_path(index, size, leaves[index], path[:-1]) is None


def test_the_root_over_concatenated_leaf_hashes_is_the_same() -> None:
    from hashlib import sha256

    from app.audit.merkle import root_of_joined

    for n in [*range(0, 40), 1000, 1025]:
        leaves = [sha256(str(i).encode()).digest() for i in range(n)]
        assert root_of_joined(b"".join(leaves)) == root_of(leaves)
    with pytest.raises(ValueError):
        root_of_joined(b"x" * 33)
