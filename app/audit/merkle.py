"""RFC 9162 Merkle trees: leaf and node hashing, tree heads, inclusion proofs.

``leaf_hash = SHA-256(0x00 || leaf bytes)`` and ``node_hash = SHA-256(0x01 || left || right)``
(RFC 9162 section 2.1.1). A tree of n leaves splits at k, the largest power of two smaller
than n. Building level by level and carrying an unpaired last node up unchanged gives the
same root as the RFC's recursive definition, in linear time.
"""

from __future__ import annotations

from collections.abc import Sequence
from hashlib import sha256

EMPTY_ROOT = sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    return sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return sha256(b"\x01" + left + right).digest()


def root_of(leaves: Sequence[bytes]) -> bytes:
    """MTH(D[n]) over already hashed leaves."""
    if not leaves:
        return EMPTY_ROOT
    level = list(leaves)
    while len(level) > 1:
        paired = [
            sha256(b"\x01" + level[i] + level[i + 1]).digest() for i in range(0, len(level) - 1, 2)
        ]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


def root_of_joined(leaves: bytes) -> bytes:
    """``root_of`` over leaf hashes given concatenated (32 bytes each), as seals store them.
    Each level stays one buffer, so a node is one slice and one hash."""
    n = len(leaves) // 32
    if len(leaves) != 32 * n:
        raise ValueError("leaf hashes must be 32 bytes each")
    if n == 0:
        return EMPTY_ROOT
    level = leaves
    while n > 1:
        paired = b"".join(
            [sha256(b"\x01" + level[i : i + 64]).digest() for i in range(0, 64 * (n // 2), 64)]
        )
        if n % 2:
            paired += level[-32:]
        level = paired
        n = (n + 1) // 2
    return level


def _split(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def inclusion_path(index: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PATH(m, D[n]) of RFC 9162 section 2.1.3.1, leaf first, root-most last."""
    if not 0 <= index < len(leaves):
        raise IndexError(f"leaf {index} outside a tree of {len(leaves)}")
    path: list[bytes] = []
    lo, hi, m = 0, len(leaves), index
    siblings: list[bytes] = []
    while hi - lo > 1:
        k = _split(hi - lo)
        if m < k:
            siblings.append(root_of(leaves[lo + k : hi]))
            hi = lo + k
        else:
            siblings.append(root_of(leaves[lo : lo + k]))
            lo, m = lo + k, m - k
    path.extend(reversed(siblings))
    return path


def root_from_path(index: int, size: int, leaf: bytes, path: Sequence[bytes]) -> bytes | None:
    """The root that an inclusion proof implies (RFC 9162 section 2.1.3.2), or None if the
    proof has the wrong shape for ``index`` in a tree of ``size``."""
    if not 0 <= index < size:
        return None
    fn, sn = index, size - 1
    r = leaf
    for p in path:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return r if sn == 0 else None
