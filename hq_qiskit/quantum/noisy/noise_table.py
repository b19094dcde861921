"""Read an Aer ``NoiseModel`` against a program: the channel after each gate, readout per qubit.

Aer's rules, followed here:

- A quantum error attaches to an instruction name and is applied after the ideal instruction.
- An error added for specific qubits (``add_quantum_error``) applies to that instruction on that
  ordered qubit tuple only, and replaces the all-qubit error (``add_all_qubit_quantum_error``)
  there; elsewhere the all-qubit error applies. Errors added twice were already composed by Aer.
- A readout error on a qubit (``add_readout_error``) replaces the all-qubit readout error there.
- A correlated readout error on k qubits (``add_readout_error(error, [a, b])``, a 2**k x 2**k
  matrix P(read m | true p), qubits[0] the least significant bit of p and m) acts on the joint
  outcome of its qubits and replaces the per-qubit readout errors there. Here the engine departs
  from Aer 0.18 on purpose: Aer applies a k-qubit readout error only to a k-qubit measure
  instruction, which Qiskit circuits do not have (``measure`` and ``measure_all`` append one
  instruction per qubit), so Aer silently never applies it (tests/quantum/test_noisy_readout.py
  shows it); a device's correlated readout acts on every shot. ``channels.correlated_readout``
  folds it into the observables.

- A device model's per-occurrence errors (``positional.py``) replace the per-key errors on
  the instructions of the circuit they were built for.
- Aer's relaxation-on-delay pass (``NoiseModel.from_backend`` adds it) appends thermal
  relaxation over each delay's duration: ``delays.idle_circuit`` turns the delays of a
  scheduled circuit into ``Idle`` gates before the program is read, and each gets that channel.

What cannot be applied exactly raises ``CircuitError`` naming it: correlated readout errors
whose qubits overlap another readout error's, custom noise passes other than Aer's
relaxation-on-delay pass, errors on delays in a circuit that has delays, quantum errors on
``measure``, and errors whose size does not match their instruction. Aer keeps these tables in
private attributes (``_default_quantum_errors``, ``_local_quantum_errors``,
``_default_readout_error``, ``_local_readout_errors``, ``_custom_noise_passes``); there is no
public accessor in 0.18.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from qiskit import QuantumCircuit

from hq_qiskit.errors import CircuitError, ConfigError
from hq_qiskit.quantum.fast.program import Program
from hq_qiskit.quantum.noisy import positional
from hq_qiskit.quantum.noisy.channels import readout_factors, superop
from hq_qiskit.quantum.noisy.delays import idle_channels


@dataclass(frozen=True)
class NoiseTable:
    """The noise a program meets.

    Attributes:
        channels: one entry per program op: the error's row-major superoperator
            (4**k, 4**k) complex128, or None where the op is noiseless.
        readout: qubit -> (offset, scale) of its readout error (``channels.readout_factors``);
            qubits without readout error, or in a correlated group, are absent.
        correlated: (qubits, probabilities) of each correlated readout error: qubits as given
            to Aer (qubits[0] the least significant bit), probabilities (2**k, 2**k) with
            entry [p, m] = P(read m | true p).
        names: per op, a short description of its error for ``describe()`` ("" if none).
    """

    channels: tuple[np.ndarray | None, ...]
    readout: dict[int, tuple[float, float]]
    names: tuple[str, ...]
    correlated: tuple[tuple[tuple[int, ...], np.ndarray], ...] = ()

    def readout_group(self, qubit: int) -> tuple[tuple[int, ...], np.ndarray] | None:
        """The correlated readout error (qubits, probabilities) that reads ``qubit``, if any."""
        return next((g for g in self.correlated if qubit in g[0]), None)

    @property
    def is_noiseless(self) -> bool:
        return all(c is None for c in self.channels) and not self.readout and not self.correlated


def _check_passes(noise_model, circuit: QuantumCircuit) -> None:
    from hq_qiskit.quantum.noisy.delays import relaxation_pass

    names = {inst.operation.name for inst in circuit.data}
    relax = relaxation_pass(noise_model)
    for p in getattr(noise_model, "_custom_noise_passes", []):
        if p is not relax or "delay" in names:
            raise CircuitError(
                f"noise: the noise model has a custom noise pass {type(p).__name__} that the "
                "exact engine cannot apply; remove the delays from the circuit or build the "
                "noise model without custom passes"
            )
    if names & {"delay", "idle"} and (
        "delay" in noise_model._default_quantum_errors
        or "delay" in noise_model._local_quantum_errors
    ):
        raise CircuitError(
            "noise: the noise model has errors on 'delay' and the circuit has delays, which the "
            "engine drops; remove the delays or the delay errors"
        )


def noise_table(noise_model, program: Program, circuit: QuantumCircuit) -> NoiseTable:
    """The channel after each op of ``program`` and the readout of each qubit, Aer's rules.

    ``circuit`` is the one ``program`` was read from; its ``Idle`` gates (``delays.py``) get
    the thermal relaxation of the model's delay pass.

    Raises:
        CircuitError: an error the exact engine cannot apply (see the module docstring).
    """
    if noise_model is None:
        return NoiseTable((None,) * len(program.ops), {}, ("",) * len(program.ops))
    from qiskit_aer.noise import NoiseModel

    if not isinstance(noise_model, NoiseModel):
        raise ConfigError(
            f"noise must be a qiskit_aer.noise.NoiseModel, got {type(noise_model).__name__}; "
            "for a backends.toml entry or a device use "
            "hq_qiskit.hardware.device_noise.device_noise_model(block, backend)"
        )
    check_noise_basis(noise_model, circuit)
    _check_passes(noise_model, circuit)
    if noise_model._local_quantum_errors.get("measure") or (
        "measure" in noise_model._default_quantum_errors
    ):
        raise CircuitError(
            "noise: quantum errors on 'measure' are not supported by the exact engine (Pauli "
            "terms are measured without measure instructions); model them as ReadoutError"
        )
    cache: dict[int, np.ndarray] = {}
    channels, names = [], []
    idle = idle_channels(noise_model, circuit)
    occurrence = _occurrences(noise_model, circuit)
    for position, op in enumerate(program.ops):
        if position in idle:
            channels.append(idle[position])
            names.append(f"idle{list(op.qubits)}" if idle[position] is not None else "")
            continue
        if position in occurrence:
            channel = occurrence[position]
            channels.append(channel)
            names.append("" if channel is None else f"{op.model.name}{list(op.qubits)}@{position}")
            continue
        name = op.model.name
        local = noise_model._local_quantum_errors.get(name, {})
        error = local.get(op.qubits, noise_model._default_quantum_errors.get(name))
        if error is None:
            channels.append(None)
            names.append("")
            continue
        if error.num_qubits != len(op.qubits):
            raise CircuitError(
                f"noise: a {error.num_qubits}-qubit error is attached to {name!r} on qubits "
                f"{list(op.qubits)} (op {position}); errors must act on their gate's own qubits"
            )
        if id(error) not in cache:
            cache[id(error)] = superop(error)
        channels.append(cache[id(error)])
        names.append(f"{name}{list(op.qubits)}")
    readout, correlated = readout_table(noise_model, program.num_qubits)
    return NoiseTable(tuple(channels), readout, tuple(names), correlated)


def _occurrences(noise_model, circuit: QuantumCircuit) -> dict[int, np.ndarray | None]:
    """Op position -> channel, for the ops covered by the model's per-occurrence errors
    (``positional.py``); empty when it has none for ``circuit``."""
    from hq_qiskit.quantum.fast.program import IGNORED

    errors = positional.matched(noise_model, circuit)
    if errors is None:
        return {}
    out, position = {}, 0
    for i, inst in enumerate(circuit.data[: len(errors.signature)]):
        if inst.operation.name in IGNORED:
            continue
        out[position] = errors.channels.get(i)
        position += 1
    return out


def readout_table(noise_model, num_qubits: int) -> tuple[dict, tuple]:
    """The readout a register of ``num_qubits`` meets, Aer's rules (module docstring).

    Returns:
        (readout, correlated) as the ``NoiseTable`` fields of those names.

    Raises:
        CircuitError: an all-qubit readout error on several qubits, or overlapping errors.
    """
    correlated = _correlated_readout(noise_model, num_qubits)
    grouped = {q for qubits, _ in correlated for q in qubits}
    readout = {}
    default = noise_model._default_readout_error
    if default is not None and default.number_of_qubits != 1:
        raise CircuitError(
            f"noise: an all-qubit readout error on {default.number_of_qubits} qubits has no "
            "qubits to act on; add it for specific qubits with add_readout_error(error, qubits)"
        )
    for q in range(num_qubits):
        error = noise_model._local_readout_errors.get((q,), default)
        if error is not None and q not in grouped:
            readout[q] = readout_factors(error)
    return readout, correlated


def check_noise_basis(noise_model, circuit: QuantumCircuit) -> None:
    """Refuse a noise model whose gate errors name none of the circuit's operations.

    Aer attaches an error by instruction name, so a device's model (basis cz, rz, sx, x) given
    to a logical circuit (cx, ry, ...) attaches nothing and the run is silently ideal.

    Raises:
        ConfigError: the model has gate errors and none is on an operation of ``circuit``.
    """
    noisy = set(noise_model._default_quantum_errors) | set(noise_model._local_quantum_errors)
    noisy = {name for name in noisy if name != "measure"}
    used = {inst.operation.name for inst in circuit.data}
    if noisy and not noisy & used:
        raise ConfigError(
            f"noise: the noise model has gate errors on {', '.join(sorted(noisy))} but the "
            f"circuit has none of these operations (it has {', '.join(sorted(used))}), so no "
            "error would attach; transpile the circuit to the model's basis gates first, or "
            "build noise for the logical circuit with "
            "hq_qiskit.hardware.device_noise.device_noise_model(block, backend)"
        )


def _correlated_readout(noise_model, num_qubits: int) -> tuple:
    """The multi-qubit readout errors as (qubits, probabilities), checked for overlaps."""
    out = []
    owner: dict[int, tuple[int, ...]] = {}  # qubit -> the correlated error that reads it
    local = noise_model._local_readout_errors
    for qubits, error in local.items():
        if len(qubits) == 1:
            continue
        probs = np.asarray(error.probabilities, dtype=float)
        label = f"correlated readout error on qubits {list(qubits)}"
        if max(qubits) >= num_qubits:
            raise CircuitError(f"noise: {label} names a qubit beyond the circuit's {num_qubits}")
        for q in qubits:
            if q in owner:
                raise CircuitError(
                    f"noise: {label} overlaps the correlated readout error on qubits "
                    f"{list(owner[q])} at qubit {q}; a qubit is read by one readout error, so "
                    "merge them into one error on the union of their qubits"
                )
            if (q,) in local:
                raise CircuitError(
                    f"noise: {label} and a one-qubit readout error on qubit {q} both read "
                    f"qubit {q}; fold the one-qubit error into the correlated one"
                )
            owner[q] = qubits
        out.append((tuple(qubits), probs))
    return tuple(out)
