"""RFC 9162 proofs against the RFC 6962 test vectors (the ones Certificate Transparency's own implementations
share), then every proof of every small tree made and verified, and tampered proofs refused."""

from __future__ import annotations

import hashlib

import pytest

from webapp.custody.proofs import (
    ProofError,
    consistency_path,
    inclusion_path,
    root,
    verify_consistency,
    verify_inclusion,
)

h = bytes.fromhex
LEAVES = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"]
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
HASHES = [hashlib.sha256(b"\x00" + h(leaf)).digest() for leaf in LEAVES]


def test_roots_match_the_rfc6962_vectors():
    assert [root(HASHES[:n]).hex() for n in range(1, 9)] == ROOTS
    assert root([]).hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_the_published_inclusion_and_consistency_proofs():
    inclusion = [
        h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
        h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
    ]
    assert inclusion_path(5, HASHES) == inclusion
    verify_inclusion(HASHES[5], 5, 8, inclusion, h(ROOTS[7]))
    with pytest.raises(ProofError):
        verify_inclusion(HASHES[5], 4, 8, inclusion, h(ROOTS[7]))
    consistency = [
        h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
        h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
        h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
    ]
    assert consistency_path(6, HASHES) == consistency
    verify_consistency(6, 8, consistency, h(ROOTS[5]), h(ROOTS[7]))
    with pytest.raises(ProofError):
        verify_consistency(6, 8, consistency, h(ROOTS[4]), h(ROOTS[7]))
    two_five = [
        h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
        h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
    ]
    assert consistency_path(2, HASHES[:5]) == two_five
    verify_consistency(2, 5, two_five, h(ROOTS[1]), h(ROOTS[4]))


def test_every_proof_of_every_tree_up_to_33_leaves_verifies_and_any_change_is_caught():
    leaves = [hashlib.sha256(b"\x00" + bytes([n])).digest() for n in range(33)]
    for size in range(1, 34):
        tree = leaves[:size]
        head = root(tree)
        for index in range(size):
            path = inclusion_path(index, tree)
            verify_inclusion(tree[index], index, size, path, head)
            for n in range(len(path)):  # flip one hash of the path
                bad = [*path[:n], bytes(32), *path[n + 1 :]]
                with pytest.raises(ProofError):
                    verify_inclusion(tree[index], index, size, bad, head)
            if path:
                with pytest.raises(ProofError):
                    verify_inclusion(tree[index], index, size, path[:-1], head)
        for first in range(0, size + 1):
            path = consistency_path(first, tree)
            verify_consistency(first, size, path, root(tree[:first]), head)
            if 0 < first < size:
                for n in range(len(path)):
                    bad = [*path[:n], bytes(32), *path[n + 1 :]]
                    with pytest.raises(ProofError):
                        verify_consistency(first, size, bad, root(tree[:first]), head)
                other = [*tree[: first - 1], bytes(32)]  # a rewritten history of the same size
                with pytest.raises(ProofError):
                    verify_consistency(first, size, path, root(other), head)


@pytest.mark.parametrize(("first", "second"), [(3, 2), (-1, 4), (4, 4)])
def test_impossible_consistency_claims_are_refused(first, second):
    with pytest.raises(ProofError):
        verify_consistency(first, second, [bytes(32)], HASHES[0], HASHES[1])


def test_same_size_with_two_roots_is_a_split_view():
    with pytest.raises(ProofError, match="split view"):
        verify_consistency(4, 4, [], h(ROOTS[3]), h(ROOTS[4]))
    verify_consistency(4, 4, [], h(ROOTS[3]), h(ROOTS[3]))
    assert inclusion_path(0, HASHES[:1]) == []  # a tree of one leaf: the leaf is the root
