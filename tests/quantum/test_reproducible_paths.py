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
