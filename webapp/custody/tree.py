"""The ledger's Merkle tree as stored: every leaf hash (ledger_tree_leaf) and the hash of every complete
subtree (ledger_tree_node), written as checkpoints add leaves, so that the root, an inclusion proof or a
consistency proof for any tree size the log signed takes a handful of indexed reads, not a scan.

A complete subtree is named (level, idx): the 2**level leaves from leaf idx * 2**level on. Every node of the
RFC 6962/9162 tree of size n is either one of those or a right-edge node [lo, n) whose hash folds the
complete subtrees [lo, n) splits into (largest first). A proof names O(log n) such ranges; their complete
subtrees, O(log n) again (they are the tree's peaks to the right of some point and one subtree per level),
are read in one query (leaves and nodes, each by primary key).

proofs.py defines what the proofs are (over a list of leaves) and checks them; tests compare the two.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import SmallInteger, insert, literal, select, text, tuple_, union_all
from sqlalchemy.orm import Session

from webapp.custody.ledger import merkle_leaf, merkle_node
from webapp.custody.models import LedgerTreeLeaf, LedgerTreeNode
from webapp.custody.proofs import EMPTY_ROOT, ProofError

FLUSH_EVERY = 10_000  # leaves per bulk insert while appending
Node = tuple[int, int]  # (level, idx)
_LEAF, _NODE = LedgerTreeLeaf.__table__, LedgerTreeNode.__table__


class TreeIncomplete(LookupError):
    """The stored tree lacks a hash a computation needs: the size asked is beyond what it holds, or rows
    were removed."""


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1): where RFC 9162 splits a tree of n leaves."""
    return 1 << ((n - 1).bit_length() - 1)


def subtrees(lo: int, hi: int) -> list[Node]:
    """The complete subtrees that [lo, hi) splits into as an RFC 9162 node, largest first. For the nodes of
    a tree (lo is a multiple of the largest power of two up to hi - lo) that is the binary decomposition
    of hi - lo; any other range takes the largest aligned subtree at each step."""
    found = []
    while lo < hi:
        level = (hi - lo).bit_length() - 1
        while lo & ((1 << level) - 1):
            level -= 1
        found.append((level, lo >> level))
        lo += 1 << level
    return found


def peaks(size: int) -> list[Node]:
    """The complete subtrees of the tree of `size` leaves, largest (leftmost) first."""
    return subtrees(0, size)


def _inclusion_ranges(index: int, lo: int, hi: int) -> list[tuple[int, int]]:
    """PATH(index, D[lo:hi]) of RFC 9162 section 2.1.3.1, as the ranges whose hashes it lists."""
    path = []
    while hi - lo > 1:
        k = _split(hi - lo)
        if index < lo + k:
            path.append((lo + k, hi))
            hi = lo + k
        else:
            path.append((lo, lo + k))
            lo += k
    return path[::-1]  # the deepest sibling first


def _consistency_ranges(m: int, n: int) -> list[tuple[int, int]]:
    """PROOF(m, D[n]) = SUBPROOF(m, D[n], true) of RFC 9162 section 2.1.4.1, as ranges (0 < m < n)."""
    path, lo, hi, complete = [], 0, n, True
    while m != hi - lo:
        k = _split(hi - lo)
        if m <= k:
            path.append((lo + k, hi))
            hi = lo + k
        else:
            path.append((lo, lo + k))
            m -= k
            lo += k
            complete = False
    if not complete:
        path.append((lo, hi))
    return path[::-1]


# PostgreSQL reads the wanted subtrees by joining arrays of keys to the primary keys: the same statement text
# for any number of them, so psycopg prepares it once per connection (an IN list of 30 pairs costs a
# millisecond of planning on every call).
_READ_PG = text(
    "SELECT CAST(0 AS smallint), l.leaf_index, l.hash FROM unnest(CAST(:leaves AS bigint[])) AS w(idx) "
    "JOIN ledger_tree_leaf AS l ON l.leaf_index = w.idx "
    "UNION ALL SELECT n.level, n.idx, n.hash "
    "FROM unnest(CAST(:levels AS smallint[]), CAST(:idxs AS bigint[])) AS w(level, idx) "
    "JOIN ledger_tree_node AS n ON n.level = w.level AND n.idx = w.idx"
)


def read_hashes(session: Session, wanted: Iterable[Node]) -> dict[Node, bytes]:
    """The stored hashes of these complete subtrees, in one query (leaves and larger subtrees each by their
    primary key). None of them may be missing (TreeIncomplete)."""
    wanted = set(wanted)
    leaves = sorted(idx for level, idx in wanted if level == 0)
    nodes = sorted(node for node in wanted if node[0] > 0)
    if session.get_bind().dialect.name == "postgresql":
        rows = session.execute(
            _READ_PG, {"leaves": leaves, "levels": [n[0] for n in nodes], "idxs": [n[1] for n in nodes]}
        )
    else:
        parts = []
        if leaves:
            level_0 = literal(0, SmallInteger).label("level")
            parts.append(select(level_0, _LEAF.c.leaf_index, _LEAF.c.hash).where(_LEAF.c.leaf_index.in_(leaves)))
        if nodes:
            pairs = tuple_(_NODE.c.level, _NODE.c.idx)
            parts.append(select(_NODE.c.level, _NODE.c.idx, _NODE.c.hash).where(pairs.in_(nodes)))
        rows = session.execute(union_all(*parts)) if parts else []
    found = {(level, idx): bytes(digest) for level, idx, digest in rows}
    if len(found) != len(wanted):
        missing = sorted(wanted - set(found))[:3]
        raise TreeIncomplete(f"the stored tree lacks the subtrees {missing}")
    return found


def _fold(parts: list[bytes]) -> bytes:
    """The hash of a range from its complete subtrees' hashes (largest first): folded from the right."""
    digest = parts[-1]
    for left in reversed(parts[:-1]):
        digest = merkle_node(left, digest)
    return digest


def _range_hashes(session: Session, ranges: list[tuple[int, int]]) -> list[bytes]:
    split = [subtrees(lo, hi) for lo, hi in ranges]
    known = read_hashes(session, (node for parts in split for node in parts))
    return [_fold([known[node] for node in parts]) for parts in split]


def root_at(session: Session, size: int) -> bytes:
    """MTH of the first `size` leaves, from the stored tree (its peaks: at most log2(size) + 1 of them)."""
    if size == 0:
        return EMPTY_ROOT
    return _range_hashes(session, [(0, size)])[0]


def inclusion_proof(session: Session, index: int, size: int) -> list[bytes]:
    """The RFC 9162 inclusion proof of leaf `index` in the tree of `size` leaves, from the stored tree."""
    return inclusion_proofs(session, [index], size)[index]


def inclusion_proofs(session: Session, indexes: Iterable[int], size: int) -> dict[int, list[bytes]]:
    """The inclusion proofs of many leaves in the tree of `size`, by leaf index, with one read of the
    subtrees they need: leaves close together share most of them (a region's export asks hundreds at once)."""
    paths = {}
    for index in indexes:
        if not 0 <= index < size:
            raise ProofError(f"leaf {index} is not in a tree of {size}")
        paths[index] = _inclusion_ranges(index, 0, size)
    split = {lo_hi: subtrees(*lo_hi) for ranges in paths.values() for lo_hi in ranges}
    known = read_hashes(session, (node for parts in split.values() for node in parts))
    folded = {lo_hi: _fold([known[node] for node in parts]) for lo_hi, parts in split.items()}
    return {index: [folded[lo_hi] for lo_hi in ranges] for index, ranges in paths.items()}


def consistency_proof(session: Session, first: int, second: int) -> list[bytes]:
    """The RFC 9162 consistency proof from the tree of `first` leaves to the tree of `second`."""
    if not 0 <= first <= second:
        raise ProofError(f"a tree of {first} is not a prefix of a tree of {second}")
    if first in (0, second):
        return []
    return _range_hashes(session, _consistency_ranges(first, second))


def stored_size(session: Session) -> tuple[int, int]:
    """(leaves stored, the event id of the last one; 0 when none): one index look-up."""
    row = session.execute(
        select(_LEAF.c.leaf_index, _LEAF.c.event_id).order_by(_LEAF.c.leaf_index.desc()).limit(1)
    ).first()
    return (row[0] + 1, row[1]) if row else (0, 0)


def event_leaf(session: Session, event_id: int) -> tuple[int, bytes] | None:
    """(leaf index, leaf hash) of an event the stored tree holds; None for one it does not (yet)."""
    row = session.execute(select(_LEAF.c.leaf_index, _LEAF.c.hash).where(_LEAF.c.event_id == event_id)).first()
    return (row[0], bytes(row[1])) if row else None


class TreeAppender:
    """Adds leaves to the stored tree: keeps the peaks (at most log2(n) + 1 complete subtrees), and writes
    each new leaf and each subtree a new leaf completes, in bulk."""

    def __init__(self, session: Session, size: int, peak_hashes: list[bytes], last_event_id: int = 0):
        self.session = session
        self.size = size
        self.last_event_id = last_event_id  # the event of the last leaf stored before this appender
        self.peaks: list[tuple[int, int, bytes]] = [
            (level, idx, digest) for (level, idx), digest in zip(peaks(size), peak_hashes, strict=True)
        ]
        self._leaves: list[dict] = []
        self._nodes: list[dict] = []

    @classmethod
    def resume(cls, session: Session) -> TreeAppender:
        """An appender over the stored tree as it is."""
        size, last_event_id = stored_size(session)
        known = read_hashes(session, peaks(size)) if size else {}
        return cls(session, size, [known[node] for node in peaks(size)], last_event_id)

    def add(self, event_id: int, event_hash: str) -> None:
        """Append the leaf of this event (the next in id order)."""
        digest = merkle_leaf(event_hash)
        self._leaves.append({"leaf_index": self.size, "event_id": event_id, "hash": digest})
        peaks = self.peaks
        peaks.append((0, self.size, digest))
        self.size += 1
        while len(peaks) > 1 and peaks[-1][0] == peaks[-2][0]:
            level, _, right = peaks.pop()
            _, idx, left = peaks.pop()
            merged = (level + 1, idx >> 1, merkle_node(left, right))
            peaks.append(merged)
            self._nodes.append({"level": merged[0], "idx": merged[1], "hash": merged[2]})
        if len(self._leaves) >= FLUSH_EVERY:
            self.flush()

    def root(self) -> bytes:
        return _fold([digest for _, _, digest in self.peaks]) if self.peaks else EMPTY_ROOT

    def peak_pairs(self) -> list[list]:
        """The peaks as LedgerCheckpoint.peaks keeps them: [leaves, hex hash] pairs."""
        return [[1 << level, digest.hex()] for level, _, digest in self.peaks]

    def flush(self) -> None:
        """Write what was added since the last flush: with COPY on PostgreSQL (an INSERT per row costs ten
        times as much there), executemany elsewhere."""
        connection = self.session.connection()
        for table, rows in ((_LEAF, self._leaves), (_NODE, self._nodes)):
            if not rows:
                continue
            if connection.dialect.name != "postgresql":
                connection.execute(insert(table), rows)
                continue
            columns = list(rows[0])
            cursor = connection.connection.dbapi_connection.cursor()
            with cursor, cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row([row[column] for column in columns])
        self._leaves, self._nodes = [], []
