"""Fractional gates (RZZ(theta), RX(theta)): the transpile report's measured effect on a target
that offers them (qiskit-ibm-runtime's FakeFractionalBackend), ISA circuits without them unless
asked, a clear note or error where the target lacks them, and the backends.toml field."""

from __future__ import annotations

from dataclasses import replace

import pytest
from qiskit import QuantumCircuit
from qiskit.circuit import ParameterVector
from qiskit.quantum_info import SparsePauliOp
from qiskit_ibm_runtime.fake_provider.local_service import QiskitRuntimeLocalService

from hq_qiskit.circuits import QuantumBlock, enrichment_qcnn
from hq_qiskit.errors import ConfigError
from hq_qiskit.hardware.backends import Backend, fake_backend, get_backend, load_backends
from hq_qiskit.hardware.layout import (
    fractional_target,
    isa_block,
    offers_fractional,
    transpile_block,
)
from hq_qiskit.hardware.runtime import resolve
from hq_qiskit.hardware.transpile_report import measure

FRACTIONAL = Backend(
    name="fractional",
    kind="runtime",
    noise="FakeFractionalBackend",
    device="fake_fractional",
    shots=64,
    optimization_level=3,
    layout="preset",
    fractional_gates=True,
)


def zz_block(n: int = 4) -> QuantumBlock:
    """An RZZ-heavy block: two rounds of RZZ(x) along a line with RX(w) between them."""
    x, w = ParameterVector("x", n - 1), ParameterVector("w", 1)
    qc = QuantumCircuit(n, name="zz_chain")
    qc.h(range(n))
    for _ in range(2):
        for i in range(n - 1):
            qc.rzz(x[i], i, i + 1)
        for q in range(n):
            qc.rx(w[0], q)
    obs = tuple(SparsePauliOp.from_sparse_list([("Z", [q], 1.0)], n) for q in range(n))
    return QuantumBlock("zz_chain", qc, x, w, obs, tuple(f"Z{q}" for q in range(n)))


@pytest.fixture(scope="module")
def device():
    return fake_backend("FakeFractionalBackend")


def _row(block: QuantumBlock, target, label: str):
    mapped = transpile_block(
        block.circuit, block.observables, target, optimization_level=3, strategy="preset"
    )
    return measure(mapped, target, block.name, label), mapped


def test_fractional_gates_halve_the_two_qubit_gates_of_an_rzz_block(device):
    assert offers_fractional(device.target)
    plain = fractional_target(device.target, use=False)
    assert not offers_fractional(plain) and plain.num_qubits == device.target.num_qubits
    block = zz_block()
    with_frac, isa = _row(block, device.target, "+fractional")
    without, _ = _row(block, plain, "plain")
    assert isa.circuit.count_ops().get("rzz") == 6
    # each RZZ is 2 CX without fractional gates, 1 native RZZ with them
    assert with_frac.count_2q == 6 and without.count_2q == 12
    assert with_frac.depth_2q < without.depth_2q and with_frac.depth < without.depth
    assert with_frac.duration_s < without.duration_s and with_frac.esp > without.esp


def test_the_enrichment_qcnn_keeps_its_cx_count_but_gets_shallower(device):
    # its filters are CX + RY: no RZZ to fold; RX(theta) replaces SX-RZ-SX runs
    block = enrichment_qcnn(rows=2, cols=2)
    with_frac, _ = _row(block, device.target, "+fractional")
    without, _ = _row(block, fractional_target(device.target, use=False), "plain")
    assert with_frac.count_2q == without.count_2q == 7
    assert with_frac.depth < without.depth


def test_isa_circuits_use_rzz_only_when_the_entry_asks(device):
    block = zz_block()
    asked = isa_block(block, FRACTIONAL, device)
    plain = isa_block(block, replace(FRACTIONAL, fractional_gates=False), device)
    assert "rzz" in asked.circuit.count_ops() and "rzz" not in plain.circuit.count_ops()
    assert "rx" not in plain.circuit.count_ops()


def test_a_local_twin_without_rzz_says_so_and_one_with_them_uses_them():
    fez = replace(get_backend("ibm_fez"), fractional_gates=True)
    target = resolve(fez, force_local=True)
    assert "fractional gates asked for, but FakeFez's snapshot has no rzz/rx" in target.note
    target = resolve(replace(FRACTIONAL, local=True))
    assert target.note.endswith("; fractional gates rzz/rx in use")


class FractionalService(QiskitRuntimeLocalService):
    """IBM's service as ``resolve`` sees it: ``backend(name, use_fractional_gates=...)``."""

    def __init__(self, twins: dict[str, str]):
        super().__init__()
        self.twins, self.asked = twins, []

    def backend(self, name=None, instance=None, use_fractional_gates=False):
        self.asked.append((name, use_fractional_gates))
        return fake_backend(self.twins[name])


def test_a_device_is_asked_for_fractional_gates_and_refused_without_them():
    service = FractionalService({"ibm_fez": "FakeFez", "fake_fractional": "FakeFractionalBackend"})
    target = resolve(FRACTIONAL, service=service)
    assert not target.local and target.note.endswith("with fractional gates (rzz, rx)")
    assert service.asked == [("fake_fractional", True)]
    fez = replace(get_backend("ibm_fez"), fractional_gates=True)
    with pytest.raises(ConfigError, match="ibm_fez's target has no rzz/rx"):
        resolve(fez, service=service)


def test_the_backends_file_field(tmp_path):
    path = tmp_path / "b.toml"
    path.write_text(
        '[fez]\nkind = "runtime"\ndevice = "ibm_fez"\nnoise = "FakeFez"\nshots = 8\n'
        "fractional_gates = true\n"
    )
    assert load_backends(path)["fez"].fractional_gates
    path.write_text('[a]\nkind = "aer"\nfractional_gates = true\n')
    with pytest.raises(ConfigError, match="'fractional_gates' applies to kind 'runtime' only"):
        load_backends(path)
    path.write_text('[f]\nkind = "runtime"\nlocal = true\nnoise = "FakeFez"\nshots = 8\n'
                    'fractional_gates = "yes"\n')  # fmt: skip
    with pytest.raises(ConfigError, match="'fractional_gates' has value 'yes'; accepted: true"):
        load_backends(path)


def test_report_says_when_a_twin_has_no_fractional_gates(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from hq_qiskit.cli.main import cli

    monkeypatch.delenv("QISKIT_IBM_TOKEN", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    args = ["report", "--backend", "ibm_fez", "--fractional-gates", "--block", "enrichment_qcnn"]
    result = CliRunner().invoke(
        cli, [*args, "--levels", "1", "--seeds", "1", "--out", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    assert "--fractional-gates: FakeFez's target has no rzz/rx" in result.output
    assert "+fractional" not in (tmp_path / "transpile_report.md").read_text()
