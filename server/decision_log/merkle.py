"""The Merkle tree over the decision log (RFC 9162 §2.1), built in one pass.

Leaf ``i`` is entry ``i + 1`` (sequence numbers start at 1). Its leaf data is the
entry's 32-byte ``entry_hash`` — itself the SHA-256 of the entry's canonical JSON,
so the tree commits to every field. Hashes are RFC 9162's: a leaf is
``SHA-256(0x00 || data)``, an interior node ``SHA-256(0x01 || left || right)``, the
empty tree ``SHA-256()``.

:class:`TreeBuilder` keeps only the roots of its perfect subtrees (at most
log2(n) hashes), so the tree head of any log is computed in constant memory while
the entries stream past; :func:`inclusion_proof` and :func:`verify_inclusion` are
the audit path of RFC 9162 §2.1.3.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

__all__ = ["TreeBuilder", "inclusion_proof", "leaf_hash", "root_of", "verify_inclusion"]

EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(entry_hash: str) -> bytes:
    """The RFC 9162 leaf hash of one log entry (its hex ``entry_hash``)."""
    try:
        data = bytes.fromhex(entry_hash)
    except ValueError:
        data = entry_hash.encode("utf-8")  # a damaged hash still gets a (distinct) leaf
    return hashlib.sha256(b"\x00" + data).digest()


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


class TreeBuilder:
    """The tree head of a growing list of leaves, in O(log n) memory."""

    def __init__(self, snapshot_at: int | None = None) -> None:
        self.size = 0
        self._stack: list[tuple[int, bytes]] = []  # (leaves, root) of perfect subtrees
        self._snapshot_at = snapshot_at
        #: the tree head when the tree had ``snapshot_at`` leaves (None until then)
        self.snapshot: bytes | None = EMPTY_ROOT if snapshot_at == 0 else None

    def append(self, leaf: bytes) -> None:
        """Add one leaf hash (see :func:`leaf_hash`)."""
        self.size += 1
        size, node = 1, leaf
        while self._stack and self._stack[-1][0] == size:
            left_size, left = self._stack.pop()
            size, node = left_size + size, _node(left, node)
        self._stack.append((size, node))
        if self.size == self._snapshot_at:
            self.snapshot = self.root()

    def root(self) -> bytes:
        """MTH of the leaves so far (RFC 9162 §2.1.1)."""
        if not self._stack:
            return EMPTY_ROOT
        node = self._stack[-1][1]
        for _, left in reversed(self._stack[:-1]):
            node = _node(left, node)
        return node


def root_of(leaves: Sequence[bytes]) -> bytes:
    """MTH of ``leaves``."""
    tree = TreeBuilder()
    for leaf in leaves:
        tree.append(leaf)
    return tree.root()


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (n ≥ 2)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def inclusion_proof(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """PATH(index, leaves): the audit path of leaf ``index`` in the tree of ``leaves``."""
    if not 0 <= index < len(leaves):
        raise IndexError(f"leaf {index} is not in a tree of {len(leaves)}")
    path: list[bytes] = []
    lo, hi = 0, len(leaves)
    while hi - lo > 1:
        k = _split(hi - lo)
        if index < lo + k:
            path.append(root_of(leaves[lo + k : hi]))
            hi = lo + k
        else:
            path.append(root_of(leaves[lo : lo + k]))
            lo = lo + k
    path.reverse()
    return path


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """RFC 9162 §2.1.3.2: does ``proof`` place ``leaf`` at ``index`` in the tree ``root``?"""
    if not 0 <= index < size:
        return False
    fn, sn, node = index, size - 1, leaf
    for sibling in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            node = _node(sibling, node)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            node = _node(node, sibling)
        fn >>= 1
        sn >>= 1
    return sn == 0 and node == root
