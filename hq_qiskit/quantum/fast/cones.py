"""The product blocks a light cone reads at its cut, shared by the ideal and the noisy engine.

A snapshot maps every qubit to the block (qubit order, state) that holds it; blocks of
entangled qubits are one object for all their qubits. A cone on ``qubits`` needs, from each
distinct block it touches, the state traced down to the cone's qubits in that block.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any


def cone_blocks(
    qubits: Iterable[int], snapshot: Mapping[int, tuple[list[int], Any]]
) -> Iterator[tuple[list[int], Any, list[int]]]:
    """The distinct blocks a cone touches, in the order of its first qubit in each.

    Args:
        qubits: the cone's qubits.
        snapshot: qubit -> (order, state) of the block holding it (``execute.Snapshot``; the
            noisy engine's blocks hold density matrices).

    Yields:
        (order, state, keep): each block once (blocks are told apart by identity), with
        ``keep`` its qubits in the cone, in the block's order.
    """
    cone = set(qubits)
    seen: list[tuple] = []
    for q in qubits:
        entry = snapshot[q]
        if any(entry is s for s in seen):
            continue
        seen.append(entry)
        order, state = entry
        yield order, state, [p for p in order if p in cone]
