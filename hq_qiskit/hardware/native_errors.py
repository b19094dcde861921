"""Native-gate errors of a target as channels, for ``device_noise.py``.

``NativeErrors`` translates a fragment of a routed circuit (a two-qubit block or a one-qubit
run) to the target's basis and returns its native gates' errors as one channel after it:
each native gate's error is Aer's ``NoiseModel.from_backend`` error (a depolarising error
fitted to the gate error composed with thermal relaxation over the gate's duration), carried
to the end of the fragment through the native gates after it. Superoperators here are
row-major (4**k, 4**k) arrays; ``to_error`` turns one into an Aer ``QuantumError``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from qiskit import QuantumCircuit
from qiskit.circuit import ParameterExpression
from qiskit.transpiler import Target, generate_preset_pass_manager

from hq_qiskit.hardware.layout import restrict_target
from hq_qiskit.quantum.noisy.channels import superop, unitary_superop

SKIP = ("barrier", "delay")  # instructions that carry no gate error


def bound_matrix(op, values: dict) -> np.ndarray:
    """Unitary of one gate with its parameter expressions bound from ``values`` (Parameter ->
    float); a gate without parameters as it is."""
    if not any(isinstance(v, ParameterExpression) for v in op.params):
        return np.asarray(op.to_matrix(), dtype=complex)
    angles = [
        float(v.bind({p: values[p] for p in v.parameters}))
        if isinstance(v, ParameterExpression)
        else float(v)
        for v in op.params
    ]
    gate = op.to_mutable() if hasattr(op, "to_mutable") else op.copy()
    gate.params = angles
    return np.asarray(gate.to_matrix(), dtype=complex)


def embed(m: np.ndarray, positions: Sequence[int], n: int) -> np.ndarray:
    """A row-major k-qubit superoperator acting on local ``positions`` of n qubits."""
    k = len(positions)
    big = np.eye(4**n, dtype=complex).reshape((2,) * (2 * n) + (4**n,))
    rows = [n - 1 - p for p in reversed(positions)]  # axis a holds local qubit n - 1 - a
    axes = rows + [a + n for a in rows]
    t = m.reshape((2,) * (4 * k))
    out = np.tensordot(t, big, axes=(list(range(2 * k, 4 * k)), axes))
    out = np.moveaxis(out, list(range(2 * k)), axes)
    return out.reshape(4**n, 4**n)


def marginal(m: np.ndarray, keep: int) -> np.ndarray:
    """One-qubit marginal of a two-qubit row-major channel: the other qubit maximally mixed."""
    t = m.reshape((2,) * 8)  # (i1, i0, j1, j0, i1', i0', j1', j0')
    if keep == 0:
        out = np.einsum("aiajbkbl->ijkl", t) / 2
    else:
        out = np.einsum("iajakblb->ijkl", t) / 2
    return out.reshape(4, 4)


def to_error(m: np.ndarray):
    """Row-major superoperator -> Aer ``QuantumError`` (via Qiskit's column-stacked SuperOp)."""
    from qiskit.quantum_info import Kraus, SuperOp
    from qiskit_aer.noise import QuantumError

    d = int(round(np.sqrt(m.shape[0])))
    s = m.reshape(d, d, d, d).transpose(1, 0, 3, 2).reshape(d * d, d * d)
    return QuantumError(Kraus(SuperOp(s)))


class NativeErrors:
    """Native-gate errors and translations of one target, cached."""

    def __init__(self, target: Target, optimization_level: int) -> None:
        self.target = target
        self.level = optimization_level
        self._errors: dict[tuple, np.ndarray | None] = {}
        self._translations: dict[tuple, list[tuple[str, tuple[int, ...]]]] = {}
        self.counts: dict[str, int] = {}

    def error(self, name: str, qubits: tuple[int, ...]) -> np.ndarray | None:
        """Row-major superoperator of Aer's from_backend error for one native gate, or None."""
        key = (name, qubits)
        if key not in self._errors:
            from qiskit_aer.noise.device.models import (
                _combine_depol_and_relax_error,
                _device_depolarizing_error,
                _device_thermal_relaxation_error,
            )

            props = self.target[name].get(qubits) if name in self.target else None
            combined = None
            if props is not None:
                relax = depol = None
                if props.duration:
                    params = {
                        q: (
                            self.target.qubit_properties[q].t1,
                            self.target.qubit_properties[q].t2,
                            self.target.qubit_properties[q].frequency,
                        )
                        for q in qubits
                    }
                    relax = _device_thermal_relaxation_error(qubits, props.duration, params, 0)
                if props.error:
                    depol = _device_depolarizing_error(qubits, props.error, relax)
                combined = _combine_depol_and_relax_error(depol, relax)
            self._errors[key] = None if combined is None else superop(combined)
        return self._errors[key]

    def duration(self, name: str, qubits: tuple[int, ...]) -> float:
        """Seconds one native gate takes on ``qubits`` (0 where the target gives none)."""
        props = self.target[name].get(qubits) if name in self.target else None
        return float(getattr(props, "duration", None) or 0.0)

    def relaxation(self, qubit: int, seconds: float) -> np.ndarray | None:
        """Row-major superoperator of the qubit's thermal relaxation over ``seconds`` idle, as
        Aer's ``RelaxationNoisePass`` puts it on a delay (T2 capped at 2 T1, zero
        temperature); None for a qubit without T1 and T2."""
        from qiskit_aer.noise import thermal_relaxation_error

        props = self.target.qubit_properties
        qp = props[qubit] if props is not None else None
        t1 = getattr(qp, "t1", None) or np.inf
        t2 = getattr(qp, "t2", None) or np.inf
        if t1 == np.inf and t2 == np.inf:
            return None
        return superop(thermal_relaxation_error(t1, min(t2, 2 * t1), seconds))

    def _orientation(self, phys: tuple[int, ...]) -> tuple:
        """What translation depends on: native gates on these qubits, both directions."""
        names = []
        for name in self.target.operation_names:
            props = self.target[name]
            if props is None or None in props:
                continue
            for qargs in props:
                if qargs is not None and set(qargs) <= set(phys):
                    names.append((name, tuple(phys.index(q) for q in qargs)))
        return tuple(sorted(names))

    def translate(self, fragment: QuantumCircuit, phys: tuple[int, ...]) -> tuple[list, tuple]:
        """Native gates (name, local qubits, operation) of a fragment placed on ``phys``.

        Returns the gates and the parameters their angles depend on (the translation is cached
        per fragment shape, so these are the first such fragment's parameters).
        """
        shape = tuple(
            (
                inst.operation.name,
                tuple(fragment.find_bit(q).index for q in inst.qubits),
                tuple(
                    "p" if isinstance(v, ParameterExpression) else round(float(v), 12)
                    for v in inst.operation.params
                ),
            )
            for inst in fragment.data
        )
        key = (shape, self._orientation(phys))
        if key not in self._translations:
            sub = restrict_target(self.target, phys)
            pm = generate_preset_pass_manager(
                optimization_level=self.level,
                target=sub,
                initial_layout=list(range(len(phys))),
                seed_transpiler=0,
            )
            isa = pm.run(fragment)
            gates = [
                (
                    inst.operation.name,
                    tuple(isa.find_bit(q).index for q in inst.qubits),
                    inst.operation,
                )
                for inst in isa.data
                if inst.operation.name not in SKIP
            ]
            self._translations[key] = (gates, tuple(isa.parameters))
        return self._translations[key]

    @staticmethod
    def _unitary(op, values: dict, local: tuple[int, ...], k: int) -> np.ndarray:
        """Row-major superoperator of one native gate at the given parameter values."""
        return embed(unitary_superop(bound_matrix(op, values)), local, k)

    def channel(
        self,
        fragment: QuantumCircuit,
        phys: tuple[int, ...],
        draws: int = 16,
        idle: list[dict[int, float]] | None = None,
    ) -> np.ndarray:
        """The fragment's native errors as one channel after it: (4**k, 4**k) row-major.

        Each native error is carried to the end of the fragment through the native gates that
        follow it (conjugated by them), so ``F @ U_total`` equals the noisy native sequence.
        Where those gates have parameters, F depends on them: it is averaged over ``draws``
        uniform angle draws of the fragment's parameters (a mixture of channels).

        Args:
            idle: per native gate of the translation, local qubit -> idle seconds after it
                (``native_schedule.idle_windows``): that qubit's thermal relaxation follows the
                gate's error there.
        """
        k = len(phys)
        gates, params = self.translate(fragment, phys)
        errors = []
        for g, (name, local, _) in enumerate(gates):
            self.counts[name] = self.counts.get(name, 0) + 1
            err = self.error(name, tuple(phys[i] for i in local))
            err = None if err is None else embed(err, local, k)
            for q, seconds in (idle[g] if idle else {}).items():
                relax = self.relaxation(phys[q], seconds)
                if relax is not None:
                    relax = embed(relax, [q], k)
                    err = relax if err is None else relax @ err
            errors.append(err)
        eye = np.eye(4**k, dtype=complex)
        if all(e is None for e in errors):
            return eye
        rng = np.random.default_rng(0)
        total = np.zeros_like(eye)
        n_draws = draws if params else 1
        for _ in range(n_draws):
            values = dict(zip(params, rng.uniform(-np.pi, np.pi, len(params)), strict=True))
            f, suffix = eye, eye  # suffix: the native gates after the current one
            for (_, local, op), err in zip(reversed(gates), reversed(errors), strict=True):
                if err is not None:
                    f = f @ (suffix @ err @ suffix.conj().T)
                suffix = suffix @ self._unitary(op, values, local, k)
            total += f
        return total / n_draws
