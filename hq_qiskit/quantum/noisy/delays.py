"""Delays as idle channels: Aer's thermal relaxation on the delays of a scheduled circuit.

A scheduled circuit (ALAP with ``PadDelay``, as IBM runs it) holds a ``delay`` on every idle
window. ``NoiseModel.from_backend`` carries a ``RelaxationNoisePass`` that Aer runs before
simulating: after each delay of ``duration`` seconds on qubit q it appends
``thermal_relaxation_error(T1[q], T2[q], duration, p1[q])``. The exact engine reads gates only,
so ``idle_circuit`` replaces every delay by an ``Idle`` gate (the identity, carrying the delay's
length in seconds) and ``idle_channels`` gives each one the pass's channel, row-major as in
``channels.py``. A model without such a pass leaves delays as they were: dropped, as
before (a delay does nothing to an ideal state).
"""

from __future__ import annotations

import numpy as np
from qiskit import QuantumCircuit
from qiskit.circuit import Delay, Gate
from qiskit.utils.units import apply_prefix

from hq_qiskit.errors import CircuitError
from hq_qiskit.quantum.noisy.channels import superop


class Idle(Gate):
    """The identity on one qubit standing for a delay of ``seconds`` (``idle_circuit``)."""

    def __init__(self, seconds: float) -> None:
        super().__init__("idle", 1, [])
        self.seconds = float(seconds)

    def __array__(self, dtype=None, copy=None):
        return np.eye(2, dtype=dtype or complex)


def relaxation_pass(noise_model):
    """The model's ``RelaxationNoisePass`` on delays (as ``from_backend`` adds it), or None."""
    from qiskit_aer.noise.passes import RelaxationNoisePass

    if noise_model is None:
        return None
    for p in getattr(noise_model, "_custom_noise_passes", []):
        ops = getattr(p, "_ops", ()) or ()
        if isinstance(p, RelaxationNoisePass) and ops and all(issubclass(t, Delay) for t in ops):
            return p
    return None


def _seconds(delay, dt: float | None) -> float:
    if delay.unit == "dt":
        if dt is None:
            raise CircuitError(
                "noise: a delay in 'dt' units needs the relaxation pass's dt; build the noise "
                "model with NoiseModel.from_backend or pass dt to RelaxationNoisePass"
            )
        return float(delay.duration) * dt
    return float(apply_prefix(float(delay.duration), delay.unit))


def idle_circuit(circuit: QuantumCircuit, noise_model) -> QuantumCircuit:
    """``circuit`` with every delay an ``Idle`` gate, when ``noise_model`` relaxes delays.

    Returns ``circuit`` itself when it has no delay or the model has no delay relaxation pass.
    """
    relax = relaxation_pass(noise_model)
    if relax is None or not any(i.operation.name == "delay" for i in circuit.data):
        return circuit
    out = circuit.copy_empty_like()
    for inst in circuit.data:
        if inst.operation.name != "delay":
            out.append(inst)
            continue
        seconds = _seconds(inst.operation, relax._dt)
        for q in inst.qubits:
            out.append(Idle(seconds), [q])
    return out


def idle_channels(noise_model, circuit: QuantumCircuit) -> dict[int, np.ndarray | None]:
    """Op position (gates only, as ``read_circuit`` numbers them) -> the Idle gate's channel.

    Args:
        noise_model: the model whose relaxation pass gives T1, T2 and the excited population.
        circuit: a circuit from ``idle_circuit``.

    Returns:
        {op index: (4, 4) row-major superoperator, or None for a qubit without relaxation}.
    """
    from qiskit_aer.noise import thermal_relaxation_error

    from hq_qiskit.quantum.fast.program import IGNORED

    relax = relaxation_pass(noise_model)
    out: dict[int, np.ndarray | None] = {}
    position = 0
    for inst in circuit.data:
        op = inst.operation
        if op.name in IGNORED:
            continue
        if isinstance(op, Idle) and relax is not None:
            q = circuit.find_bit(inst.qubits[0]).index
            t1, t2, p1 = relax._t1s[q], relax._t2s[q], relax._p1s[q]
            if (t1 == np.inf and t2 == np.inf) or op.seconds <= 0:
                out[position] = None
            else:
                out[position] = superop(thermal_relaxation_error(t1, t2, op.seconds, p1))
        position += 1
    return out
