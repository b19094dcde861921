"""The stock engine: qiskit-machine-learning ``EstimatorQNN`` + ``TorchConnector`` on Aer.

This is the reference path every user of Qiskit machine learning knows. Two of its defaults
change results silently, so this module sets them and says so:

- ``EstimatorQNN(default_precision=0.015625)`` asks the estimator for shot-like noise even on an
  exact simulator. Here ``precision`` defaults to 0 (exact expectation values).
- ``input_gradients=False`` leaves everything in front of the circuit without a gradient.
  Here it is always True.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import torch
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter
from qiskit.quantum_info import SparsePauliOp
from torch import Tensor, nn

log = logging.getLogger(__name__)


def aer_safe(circuit: QuantumCircuit) -> QuantumCircuit:
    """The same circuit with parametrised controlled gates (crx, cry, crz, cp, cu) decomposed.

    qiskit-aer 0.16-0.18 drops the bound angle of parametrised controlled gates when parameters
    come through a PUB (qiskit-aer#2323, #2391, #2403): the gate acts as if its angle were 0.
    Decomposing them into cx and single-qubit rotations gives an equivalent circuit Aer binds
    correctly. Circuits without such gates are returned unchanged.
    """
    from qiskit.circuit import ControlledGate, ParameterExpression

    def affected(c: QuantumCircuit) -> set[str]:
        return {
            inst.operation.name
            for inst in c.data
            if isinstance(inst.operation, ControlledGate)
            and any(isinstance(p, ParameterExpression) for p in inst.operation.params)
        }

    names = affected(circuit)
    while names:
        circuit = circuit.decompose(gates_to_decompose=sorted(names))
        names = affected(circuit)
    return circuit


def check_noise_kept(circuit: QuantumCircuit, noise_model) -> None:
    """Refuse a noise model with errors on gates that ``aer_safe`` decomposes in ``circuit``.

    Aer attaches errors by instruction name; once ``crx`` is decomposed into ``cx`` and
    rotations, the model's errors on ``crx`` attach to nothing and Aer's values leave them out,
    where the fast engine applies them.

    Raises:
        ConfigError: an error on a gate that the workaround renames.
    """
    from hq_qiskit.errors import ConfigError

    noisy = set(noise_model._default_quantum_errors) | set(noise_model._local_quantum_errors)
    renamed = {inst.operation.name for inst in circuit.data}
    renamed -= {inst.operation.name for inst in aer_safe(circuit).data}
    lost = sorted(noisy & renamed)
    if lost:
        raise ConfigError(
            f"noise: engine='qiskit' decomposes {', '.join(lost)} (Aer mis-binds the angles of "
            "parametrised controlled gates, qiskit-aer#2323), which drops the noise model's "
            "errors on them; use engine='fast', which applies them, or transpile the circuit "
            "to the model's basis gates first"
        )


def aer_estimator(precision: float = 0.0, seed: int | None = None, noise_model=None):
    """Aer's ``EstimatorV2``; ``precision=0`` with no noise model is exact."""
    from qiskit_aer.primitives import EstimatorV2

    options: dict = {"default_precision": precision}
    if seed is not None:
        options["run_options"] = {"seed": seed}
    if noise_model is not None:
        options["backend_options"] = {"noise_model": noise_model}
    return EstimatorV2(options=options)


class QiskitEngine(nn.Module):
    """``EstimatorQNN`` + ``TorchConnector``: x (B, n_in) -> (B, n_obs), parameter-shift grads.

    Attributes:
        weight: the trainable angles, shape (n_w,), radians (TorchConnector's own parameter).
        precision: the estimator precision in use; 0 means exact.
    """

    engine = "qiskit"

    def __init__(
        self,
        circuit: QuantumCircuit,
        input_params: Sequence[Parameter],
        weight_params: Sequence[Parameter],
        observables: Sequence[SparsePauliOp],
        *,
        initial_weights: Tensor | None = None,
        precision: float = 0.0,
        estimator=None,
    ) -> None:
        super().__init__()
        from qiskit_machine_learning.connectors import TorchConnector
        from qiskit_machine_learning.gradients import ParamShiftEstimatorGradient
        from qiskit_machine_learning.neural_networks import EstimatorQNN

        self.precision = precision
        estimator = estimator if estimator is not None else aer_estimator(precision)
        qnn = EstimatorQNN(
            circuit=aer_safe(circuit),
            estimator=estimator,
            observables=list(observables),
            input_params=list(input_params),
            weight_params=list(weight_params),
            gradient=ParamShiftEstimatorGradient(estimator),
            input_gradients=True,
            default_precision=precision,
        )
        log.info(
            "qiskit engine: EstimatorQNN precision=%g (%s), input_gradients=True",
            precision,
            "exact" if precision == 0 else "shot noise",
        )
        init = None if initial_weights is None else initial_weights.detach().cpu().numpy()
        connector = TorchConnector(qnn, initial_weights=init)
        # held, not registered: the state dict is {"weight"} as for the fast engine, so one
        # checkpoint loads into either engine
        object.__setattr__(self, "connector", connector)
        self.weight = connector.weight
        self.n_inputs = len(input_params)
        self.n_outputs = len(observables)

    def forward(self, x: Tensor) -> Tensor:
        """Map inputs x (B, n_in) to expectation values (B, n_obs) in x's dtype and device."""
        out = self.connector(x.to(device="cpu", dtype=torch.float64))  # keeps the graph
        return out.to(dtype=x.dtype, device=x.device)


def reference_expectations(
    circuit: QuantumCircuit,
    input_params: Sequence[Parameter],
    weight_params: Sequence[Parameter],
    observables: Sequence[SparsePauliOp],
    x: np.ndarray,
    weights: np.ndarray,
    *,
    estimator=None,
) -> np.ndarray:
    """Exact expectation values from Aer's EstimatorV2 in one PUB: x (B, n_in) -> (B, n_obs).

    The circuit goes through ``aer_safe`` first (Aer mis-binds parametrised controlled gates).
    """
    estimator = estimator if estimator is not None else aer_estimator(0.0)
    circuit = aer_safe(circuit)
    order = {p: i for i, p in enumerate(circuit.parameters)}
    values = np.zeros((x.shape[0], len(order)))
    for j, p in enumerate(input_params):
        if p in order:  # a parameter the circuit does not use has no column
            values[:, order[p]] = x[:, j]
    for j, p in enumerate(weight_params):
        if p in order:
            values[:, order[p]] = weights[j]
    # filled one by one: np.array() would call SparsePauliOp.__array__, a dense 2^n x 2^n matrix
    obs = np.empty((1, len(observables)), dtype=object)
    for j, o in enumerate(observables):
        obs[0, j] = o
    result = estimator.run([(circuit, obs, values[:, None, :])]).result()[0]
    return np.asarray(result.data.evs)  # (B, n_obs)


def light_cone_reference(
    circuit: QuantumCircuit,
    input_params: Sequence[Parameter],
    weight_params: Sequence[Parameter],
    observables: Sequence[SparsePauliOp],
    x: np.ndarray,
    weights: np.ndarray,
) -> np.ndarray:
    """Exact expectation values of wide circuits: x (B, n_in) -> (B, n_obs), no state vector.

    For every sample and every Pauli term of every observable, Qiskit's ``LightCone`` pass
    drops the gates outside the term's light cone and Aer's ``matrix_product_state`` method
    (exact: no truncation by default, one thread) simulates what is left. Neither step shares
    code with the fast engine, so this checks its 64-qubit grids independently (the 8x8
    QCNN's widest cone, <Z63>, takes about 5 s per sample).
    """
    from qiskit.transpiler import PassManager
    from qiskit.transpiler.passes import LightCone
    from qiskit_aer import AerSimulator

    sim = AerSimulator(method="matrix_product_state", max_parallel_threads=1)
    n = circuit.num_qubits
    out = np.zeros((x.shape[0], len(observables)))
    for b, row in enumerate(x):
        binding = dict(zip(input_params, row, strict=True))
        binding |= dict(zip(weight_params, weights, strict=True))
        bound = aer_safe(circuit.assign_parameters(binding))
        for j, obs in enumerate(observables):
            for letters, indices, coeff in SparsePauliOp(obs).simplify().to_sparse_list():
                if not indices:  # the identity
                    out[b, j] += float(np.real(coeff))
                    continue
                reduced = PassManager([LightCone(bit_terms=letters, indices=list(indices))])
                qc = reduced.run(bound)
                term = SparsePauliOp.from_sparse_list([(letters, indices, 1.0)], num_qubits=n)
                qc.save_expectation_value(term, list(range(n)))
                value = sim.run(qc).result().data()["expectation_value"]
                out[b, j] += float(np.real(coeff * value))
    return out
