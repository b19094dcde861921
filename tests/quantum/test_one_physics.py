"""One ``noise=`` gives one physics on both engines, or is refused (issue 24, item 7).

Before: engine "fast" folded readout errors into the values and engine "qiskit" (Aer's
``EstimatorV2``, which measures nothing) left them out; a device noise model (basis cz, rz, sx,
x) given to a logical circuit attached errors to no operation and said nothing; errors on
parametrised controlled gates were dropped on the qiskit path, whose Aer workaround decomposes
them. All with real Aer.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from qiskit import QuantumCircuit, transpile
from qiskit.circuit import ParameterVector
from qiskit.quantum_info import SparsePauliOp
from qiskit_aer.noise import NoiseModel, ReadoutError, depolarizing_error

from hq_qiskit.errors import ConfigError
from hq_qiskit.quantum import connect

X_VALUES = torch.tensor([[0.7, -1.2, 0.3], [2.0, 0.4, -2.5]], dtype=torch.float64)
OBSERVABLES = [
    SparsePauliOp("IZZ"),
    SparsePauliOp.from_list([("III", 0.5), ("IIZ", 0.5)]),
    SparsePauliOp.from_list([("XIY", 0.8), ("ZXI", -0.3)]),
]


def _circuit():
    x = ParameterVector("x", 3)
    qc = QuantumCircuit(3)
    for q in range(3):
        qc.ry(x[q], q)
    qc.cx(0, 1)
    qc.cx(1, 2)
    qc.ry(0.4, 0)
    return qc, list(x)


def _noise() -> NoiseModel:
    """Depolarising gates, per-qubit readout on 0, a correlated readout on qubits (1, 2)."""
    nm = NoiseModel()
    nm.add_all_qubit_quantum_error(depolarizing_error(0.08, 2), ["cx"])
    nm.add_all_qubit_quantum_error(depolarizing_error(0.02, 1), ["ry"])
    nm.add_readout_error(ReadoutError([[0.9, 0.1], [0.2, 0.8]]), [0])
    joint = np.array(
        [[0.90, 0.04, 0.04, 0.02], [0.05, 0.88, 0.02, 0.05],
         [0.06, 0.02, 0.87, 0.05], [0.01, 0.04, 0.05, 0.90]]
    )  # fmt: skip
    nm.add_readout_error(ReadoutError(joint), [1, 2])
    return nm


def _values(engine: str, noise, circuit=None) -> torch.Tensor:
    qc, x = _circuit() if circuit is None else circuit
    kwargs = {"dtype": torch.float64, "initial_weights": torch.zeros(0)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return connect(qc, x, [], OBSERVABLES, engine=engine, noise=noise, **kwargs)(X_VALUES)


def test_both_engines_give_one_answer_with_readout_errors() -> None:
    """Exact on both sides (Aer at precision 0 evolves the density matrix; it agrees to ~1e-8)."""
    fast, stock = _values("fast", _noise()), _values("qiskit", _noise())
    torch.testing.assert_close(stock, fast, atol=1e-7, rtol=0)
    without_readout = NoiseModel()
    without_readout.add_all_qubit_quantum_error(depolarizing_error(0.08, 2), ["cx"])
    without_readout.add_all_qubit_quantum_error(depolarizing_error(0.02, 1), ["ry"])
    assert (fast - _values("fast", without_readout)).abs().max() > 0.05  # readout matters


def _device_noise() -> NoiseModel:
    """Errors on a device basis only, as NoiseModel.from_backend gives them."""
    nm = NoiseModel(basis_gates=["cz", "rz", "sx", "x"])
    nm.add_all_qubit_quantum_error(depolarizing_error(0.02, 2), ["cz"])
    nm.add_all_qubit_quantum_error(depolarizing_error(0.001, 1), ["sx", "x"])
    return nm


@pytest.mark.parametrize("engine", ["fast", "qiskit"])
def test_a_device_basis_model_on_a_logical_circuit_is_refused(engine: str) -> None:
    with pytest.raises(ConfigError, match="none of these operations.*transpile") as info:
        _values(engine, _device_noise())
    assert "\n" not in str(info.value)


def test_the_transpiled_circuit_takes_the_device_model_on_both_engines() -> None:
    qc, x = _circuit()
    isa = transpile(qc, basis_gates=["cz", "rz", "sx", "x"], optimization_level=0)
    fast = _values("fast", _device_noise(), (isa, x))
    stock = _values("qiskit", _device_noise(), (isa, x))
    torch.testing.assert_close(stock, fast, atol=1e-7, rtol=0)
    assert (fast - _values("fast", None, (isa, x))).abs().max() > 1e-3  # errors attached


def test_errors_on_gates_the_aer_workaround_decomposes_are_refused_on_qiskit() -> None:
    x = ParameterVector("x", 2)
    qc = QuantumCircuit(2)
    qc.ry(x[0], 0)
    qc.crx(x[1], 0, 1)
    nm = NoiseModel()
    nm.add_all_qubit_quantum_error(depolarizing_error(0.2, 2), ["crx"])
    obs = [SparsePauliOp("ZZ")]
    kwargs = {"dtype": torch.float64, "initial_weights": torch.zeros(0), "noise": nm}
    with pytest.raises(ConfigError, match="decomposes crx.*engine='fast'"):
        connect(qc, list(x), [], obs, engine="qiskit", **kwargs)
    xs = torch.tensor([[0.9, 1.4]], dtype=torch.float64)
    noisy = connect(qc, list(x), [], obs, **kwargs)(xs)
    ideal = connect(qc, list(x), [], obs, dtype=torch.float64, initial_weights=torch.zeros(0))
    assert (noisy - ideal(xs)).abs().max() > 0.05  # the fast engine applies them
