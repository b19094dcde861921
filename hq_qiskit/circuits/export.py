"""Write every registered block to ``circuits/``: OpenQASM 3, QPY, a text and a PNG drawing.

The files are generated, never edited by hand; ``tests/circuits/test_export.py`` fails when they
drift from the builders. Regenerate them with ``hq-qiskit export-circuits``.
"""

from __future__ import annotations

import io
from pathlib import Path

from qiskit import QuantumCircuit, qasm3, qpy

from hq_qiskit.atomic import atomic_write
from hq_qiskit.circuits import BLOCKS, QuantumBlock

SUFFIXES = (".qasm", ".qpy", ".txt", ".png")


def block_qasm(block: QuantumBlock) -> str:
    """OpenQASM 3 text; inputs and weights become ``input float[64]`` declarations."""
    return qasm3.dumps(block.circuit)


def block_text(block: QuantumBlock) -> str:
    """A text drawing plus the observables, in output order."""
    drawing = str(block.circuit.draw("text", fold=-1))
    header = (
        f"{block.name}: {block.circuit.num_qubits} qubits, {block.n_inputs} inputs "
        f"({block.inputs.name}), {block.n_weights} weights ({block.weights.name}), "
        f"{block.n_outputs} observables\n"
        f"observables, in output order: {' '.join(block.observable_names)}\n"
    )
    return header + drawing + "\n"


def block_qpy(circuit: QuantumCircuit) -> bytes:
    buffer = io.BytesIO()
    qpy.dump(circuit, buffer)
    return buffer.getvalue()


def block_png(block: QuantumBlock) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = block.circuit.draw("mpl", fold=40)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def export_block(block: QuantumBlock, out_dir: Path, *, png: bool = True) -> list[Path]:
    """Write ``<name>.qasm``, ``.qpy``, ``.txt`` (and ``.png``) for one block."""
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {
        ".qasm": block_qasm(block).encode(),
        ".qpy": block_qpy(block.circuit),
        ".txt": block_text(block).encode(),
    }
    if png:
        files[".png"] = block_png(block)
    paths = []
    for suffix, data in files.items():
        path = out_dir / f"{block.name}{suffix}"
        atomic_write(path, data)
        paths.append(path)
    return paths


def export_all(out_dir: Path, *, png: bool = True) -> list[Path]:
    """Export every block of ``BLOCKS`` with its default options."""
    return [p for build in BLOCKS.values() for p in export_block(build(), out_dir, png=png)]
