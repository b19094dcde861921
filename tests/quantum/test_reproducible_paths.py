"""Contraction paths do not depend on the process (issue 24, item 6).

opt_einsum's path search iterated sets of leg letters, whose order follows Python's string
hashing, salted per process by PYTHONHASHSEED: ring_96's six networks cost 3.7e5-3.9e5
multiply-adds per sample depending on the process. The search now sees the legs as integers.
Two fresh processes with different hash seeds must plan the same paths.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = """
from hq_qiskit.circuits.ring import ring_block
from hq_qiskit.quantum import connect_block
module = connect_block(ring_block(8), route="network")
for n in module.plan.networks:
    print(n.support, n.path, n.cost)
"""


def _plan_in_a_process(hash_seed: str) -> str:
    env = dict(os.environ, PYTHONHASHSEED=hash_seed, OMP_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_two_processes_with_other_hash_seeds_plan_the_same_paths() -> None:
    first, second = _plan_in_a_process("1"), _plan_in_a_process("2")
    assert first.count("\n") >= 2
    assert first == second


def test_a_path_searched_for_one_term_is_not_reused_for_eight() -> None:
    """The search cache is keyed by the shapes too: a network of eight terms on the support of
    a one-term network (one equation, a longer t axis) costs more. Before, the one-term path
    and cost came back from the cache (an 18-qubit shared-cone network of eight wide terms:
    4.2e8 instead of 3.2e9)."""
    from hq_qiskit.circuits.brickwork import brickwork_block
    from hq_qiskit.quantum.fast import FastEngine
    from hq_qiskit.quantum.fast.network import build_network

    block = brickwork_block(6, 4)
    engine = FastEngine(block.circuit, block.inputs, block.weights, block.observables[:1])
    cone = tuple(range(len(engine.groups)))
    one = build_network(engine.groups, cone, (0, 1, 2), (0,))
    eight = build_network(engine.groups, cone, (0, 1, 2), tuple(range(8)))
    assert eight.equation == one.equation and eight.cost > 2 * one.cost
