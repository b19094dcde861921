"""Readout errors folded into observables, for estimators that leave readout out.

The exact noisy engine reads every Pauli term through the noise model's readout errors
(``channels.py``: a measured factor sigma reads as ``offset * I + scale * sigma``; a correlated
error as ``channels.correlated_readout``). Aer's ``EstimatorV2`` computes expectation values
without measuring, so it applies no readout error at all: with one ``noise=`` the two engines
gave two physics (issue 24, item 7: -0.975 against -0.998). ``fold_readout`` writes the same
readout into the observables themselves, as Pauli sums on the register, so the qiskit engine
passes Aer observables whose exact value is the measured one.
"""

from __future__ import annotations

from collections.abc import Sequence

from qiskit.quantum_info import Operator, SparsePauliOp

from hq_qiskit.quantum.noisy.channels import correlated_readout
from hq_qiskit.quantum.noisy.noise_table import readout_table


def _folded_term(
    letters: dict[int, str], readout: dict, correlated: tuple, num_qubits: int
) -> SparsePauliOp:
    """One Pauli term (qubit -> letter, coefficient 1) as measured through the readout."""
    out = SparsePauliOp("I" * num_qubits)
    done: set[int] = set()
    for q in sorted(letters):
        if q in done:
            continue
        group = next((g for g in correlated if q in g[0]), None)
        if group is not None:
            qubits, probs = group
            names = {p: letters[p] for p in qubits if p in letters}
            local = SparsePauliOp.from_operator(Operator(correlated_readout(qubits, probs, names)))
            factor = local.apply_layout(list(qubits), num_qubits)
            done.update(qubits)
        else:
            offset, scale = readout.get(q, (0.0, 1.0))
            factor = SparsePauliOp.from_sparse_list(
                [("", [], offset), (letters[q], [q], scale)], num_qubits=num_qubits
            )
            done.add(q)
        out = out.compose(factor)  # disjoint qubits: the product is the tensor product
    return out


def fold_readout(
    observables: Sequence[SparsePauliOp], noise_model, num_qubits: int
) -> list[SparsePauliOp]:
    """The observables as measured through ``noise_model``'s readout errors.

    Args:
        observables: Hermitian Pauli sums on ``num_qubits`` qubits.
        noise_model: an Aer ``NoiseModel`` (its readout errors; gate errors are ignored here).
        num_qubits: the register.

    Returns:
        One ``SparsePauliOp`` per observable whose exact expectation value equals the mean
        of the measured value, as the exact noisy engine computes it. Observables are returned
        unchanged when the model has no readout error.

    Raises:
        CircuitError: readout errors the exact engine refuses (``noise_table.readout_table``).
    """
    readout, correlated = readout_table(noise_model, num_qubits)
    if not readout and not correlated:
        return list(observables)
    out = []
    for obs in observables:
        total = SparsePauliOp("I" * num_qubits, 0.0)
        for letters_str, indices, coeff in SparsePauliOp(obs).to_sparse_list():
            letters = {q: a for q, a in zip(indices, letters_str, strict=True) if a != "I"}
            total = total + coeff * _folded_term(letters, readout, correlated, num_qubits)
        out.append(total.simplify(atol=1e-14))
    return out
