"""circuits/ holds every block, generated; these tests fail when the files drift."""

from __future__ import annotations

from pathlib import Path

import pytest
from qiskit import qasm3, qpy

from hq_qiskit.circuits import BLOCKS
from hq_qiskit.circuits.export import block_qasm, block_text, export_block

CIRCUITS = Path(__file__).resolve().parents[2] / "circuits"
HINT = "circuits/ is out of date: run `hq-qiskit export-circuits` and commit the result"


@pytest.mark.parametrize("name", sorted(BLOCKS))
def test_committed_files_match_the_builders(name: str) -> None:
    block = BLOCKS[name]()
    for suffix in (".qasm", ".qpy", ".txt", ".png"):
        assert (CIRCUITS / f"{name}{suffix}").is_file(), f"{name}{suffix} missing; {HINT}"
    assert (CIRCUITS / f"{name}.qasm").read_text() == block_qasm(block), HINT
    assert (CIRCUITS / f"{name}.txt").read_text() == block_text(block), HINT
    with open(CIRCUITS / f"{name}.qpy", "rb") as f:
        (loaded,) = qpy.load(f)
    # parameters are new objects on every build, so compare what they serialise to
    assert qasm3.dumps(loaded) == block_qasm(block), HINT


def test_qasm_round_trip_keeps_inputs_as_inputs() -> None:
    block = BLOCKS["enrichment_qcnn"]()
    text = block_qasm(block)
    assert text.count("input float[64]") == block.n_inputs + block.n_weights
    loaded = qasm3.loads(text)
    assert loaded.num_parameters == block.n_inputs + block.n_weights
    assert loaded.count_ops()["cx"] == block.circuit.count_ops()["cx"]


def test_export_writes_all_files(tmp_path: Path) -> None:
    block = BLOCKS["expert_local"]()
    paths = export_block(block, tmp_path, png=True)
    assert sorted(p.suffix for p in paths) == [".png", ".qasm", ".qpy", ".txt"]
    assert (tmp_path / "expert_local.png").read_bytes()[:4] == b"\x89PNG"
