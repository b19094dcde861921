"""Write every registered block to ``circuits/``: OpenQASM 3, QPY, a text and a PNG drawing.

The files are generated, never edited by hand; ``tests/circuits/test_export.py`` fails when they
drift from the builders. Regenerate them with ``hq-qiskit export-circuits``.
"""

from __future__ import annotations

import io
import uuid
from pathlib import Path

from qiskit import QuantumCircuit, qasm3, qpy
from qiskit.circuit import Parameter, ParameterVector
from qiskit.circuit.parametervector import ParameterVectorElement

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


def with_stable_parameters(circuit: QuantumCircuit) -> QuantumCircuit:
    """A copy of ``circuit``, named as it is, whose parameters carry UUIDs derived from the
    circuit's and their names, so QPY (which stores each parameter's UUID and the circuit's
    name) writes the same bytes on every build; a fresh ``ParameterVector`` draws a random
    UUID."""
    mapping: dict[Parameter, Parameter] = {}
    vectors: dict[str, ParameterVector] = {}
    for param in circuit.parameters:
        key = uuid.uuid5(uuid.NAMESPACE_URL, f"hq-qiskit/{circuit.name}/{param.name}")
        if isinstance(param, ParameterVectorElement):
            old = param.vector
            if old.name not in vectors:
                stable = uuid.uuid5(uuid.NAMESPACE_URL, f"hq-qiskit/{circuit.name}/{old.name}")
                vectors[old.name] = ParameterVector(old.name, len(old), uuid=stable)
            mapping[param] = vectors[old.name][param.index]
        else:
            mapping[param] = Parameter(param.name, uuid=key)
    stable = circuit.assign_parameters(mapping)
    stable.name = circuit.name  # a copy is named "<name>-<counter>"
    return stable


def block_qpy(circuit: QuantumCircuit) -> bytes:
    """QPY bytes of ``circuit``, the same on every build (``with_stable_parameters``)."""
    buffer = io.BytesIO()
    qpy.dump(with_stable_parameters(circuit), buffer)
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
