"""RFC 9162 (Certificate Transparency 2.0) Merkle proofs: verifying inclusion and consistency proofs
(section 2.1.3.2 and 2.1.4.2, step by step as the RFC writes them), and the reference definitions that
make them (PATH and PROOF of section 2.1.3.1 and 2.1.4.1) over a list of leaf hashes.

The reference makers read every leaf: they define what a proof is, for tests and small trees. The server
answers from stored subtree hashes in O(log n) and is checked against them.

Pure: no database, no Flask. Hashes are 32-byte `bytes`; leaves are already leaf hashes (0x00 || data).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

EMPTY_ROOT = hashlib.sha256(b"").digest()


class ProofError(ValueError):
    """A proof that does not prove what it claims; the message says why."""


def node(left: bytes, right: bytes) -> bytes:
    """HASH(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def root(leaves: Sequence[bytes]) -> bytes:
    """MTH(D[n]) of section 2.1.1."""
    if not leaves:
        return EMPTY_ROOT
    if len(leaves) == 1:
        return leaves[0]
    k = _split(len(leaves))
    return node(root(leaves[:k]), root(leaves[k:]))


def inclusion_path(index: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PATH(m, D[n]) of section 2.1.3.1."""
    if not 0 <= index < len(leaves):
        raise ProofError(f"leaf {index} is not in a tree of {len(leaves)}")
    if len(leaves) == 1:
        return []
    k = _split(len(leaves))
    if index < k:
        return [*inclusion_path(index, leaves[:k]), root(leaves[k:])]
    return [*inclusion_path(index - k, leaves[k:]), root(leaves[:k])]


def consistency_path(first: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PROOF(m, D[n]) of section 2.1.4.1 (empty when m is 0 or n)."""
    if not 0 <= first <= len(leaves):
        raise ProofError(f"a tree of {first} is not a prefix of a tree of {len(leaves)}")
    if first in (0, len(leaves)):
        return []
    return _subproof(first, leaves, True)


def _subproof(m: int, leaves: Sequence[bytes], complete: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if complete else [root(leaves)]
    k = _split(n)
    if m <= k:
        return [*_subproof(m, leaves[:k], complete), root(leaves[k:])]
    return [*_subproof(m - k, leaves[k:], False), root(leaves[:k])]


def _lsb(x: int) -> bool:
    return bool(x & 1)


def _shift_to_odd(fn: int, sn: int) -> tuple[int, int]:
    """The RFC's "if LSB(fn) is not set, right-shift both fn and sn equally until either LSB(fn) is set or
    fn is 0" (the step both verifications share)."""
    while not _lsb(fn) and fn != 0:
        fn, sn = fn >> 1, sn >> 1
    return fn, sn


def verify_inclusion(leaf_hash: bytes, index: int, size: int, path: Sequence[bytes], root_hash: bytes) -> None:
    """Section 2.1.3.2; raises ProofError unless `leaf_hash` is leaf `index` of the tree of `size` with
    `root_hash`."""
    if not 0 <= index < size:
        raise ProofError(f"leaf {index} is not in a tree of {size}")
    fn, sn, r = index, size - 1, leaf_hash
    for p in path:
        if sn == 0:
            raise ProofError("the inclusion proof is longer than the tree is deep")
        if _lsb(fn) or fn == sn:
            r = node(p, r)
            fn, sn = _shift_to_odd(fn, sn)
        else:
            r = node(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("the inclusion proof is shorter than the tree is deep")
    if r != root_hash:
        raise ProofError("the inclusion proof does not lead to the root hash")


def verify_consistency(first: int, second: int, path: Sequence[bytes], first_hash: bytes, second_hash: bytes) -> None:
    """Section 2.1.4.2; raises ProofError unless the tree of `first` leaves with `first_hash` is a prefix
    of the tree of `second` leaves with `second_hash`. A tree is consistent with itself (an empty proof,
    equal roots) and the empty tree with every tree (an empty proof)."""
    if not 0 <= first <= second:
        raise ProofError(f"a tree of {first} cannot be a prefix of a tree of {second}")
    if first == second:
        if path:
            raise ProofError("a tree's proof of consistency with itself is empty")
        if first_hash != second_hash:
            raise ProofError("two different root hashes for the same tree size: a split view")
        return
    if first == 0:
        if path:
            raise ProofError("the proof from the empty tree is empty")
        return
    if not path:
        raise ProofError("the consistency proof is empty")
    path = list(path)
    if first & (first - 1) == 0:  # an exact power of two
        path.insert(0, first_hash)
    fn, sn = first - 1, second - 1
    while _lsb(fn):
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("the consistency proof is longer than the tree is deep")
        if _lsb(fn) or fn == sn:
            fr, sr = node(c, fr), node(c, sr)
            fn, sn = _shift_to_odd(fn, sn)
        else:
            sr = node(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("the consistency proof is shorter than the tree is deep")
    if fr != first_hash:
        raise ProofError("the consistency proof does not lead to the older root hash")
    if sr != second_hash:
        raise ProofError("the consistency proof does not lead to the newer root hash")
