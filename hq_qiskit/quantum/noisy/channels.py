"""Aer noise as torch-ready matrices: superoperators for gate errors, readout as Pauli factors.

Superoperator convention. A density matrix on k qubits is indexed (i, j), each index
little-endian as in Qiskit (qarg 0 is the least significant bit). Its vector is
``vec[i * d + j] = rho[i, j]`` (row-major, d = 2**k), so a channel is a (d*d, d*d) matrix M with
``vec(E(rho)) = M @ vec(rho)``. Qiskit's ``SuperOp`` stacks columns (``i + j * d``); ``superop``
converts. A unitary U is ``U (x) conj(U)`` in this convention.

Readout. Aer's ``ReadoutError`` on one qubit holds ``A[p][m] = P(read m | state p)``. With
``e0 = A[0][1]`` and ``e1 = A[1][0]``, a measured eigenvalue (-1)^m of a Pauli factor sigma has
conditional mean ``(e1 - e0) + (1 - e0 - e1) (-1)^p``. Readout errors of different qubits are
independent, so the measured mean of a Pauli term ``P = sigma_1 ... sigma_w`` is
``Tr(rho * prod_i [(e1_i - e0_i) I + (1 - e0_i - e1_i) sigma_i])``: each factor of the observable
is replaced by that affine combination (``readout_factors``).

Correlated readout. A k-qubit error with ``A[p][m] = P(read m | true p)`` on the joint outcome
(p, m integers, qubits[0] the least significant bit) does not factorise: the measured mean of
the term's eigenvalue product over the group's qubits S is ``sum_p f(p) <Pi_p>`` with
``f(p) = sum_m A[p][m] prod_{q in S} (-1)^{m_q}`` and ``Pi_p`` the projector onto the true
outcome p, each qubit read in the basis of the term's letter (a qubit of the group the term
does not measure is read in the Z basis, as ``measure_all`` after the term's basis change
reads it). So on the group's qubits the observable becomes ``sum_p f(p) Pi_p``, a mixture of
Pauli terms that can involve qubits outside the term's support (``correlated_readout``).
"""

from __future__ import annotations

import numpy as np

from hq_qiskit.errors import CircuitError


def superop(error) -> np.ndarray:
    """Row-major superoperator (4**k, 4**k) complex128 of an Aer ``QuantumError`` on k qubits.

    Raises:
        CircuitError: Qiskit cannot express the error as a channel.
    """
    try:
        channel = error.to_quantumchannel()
    except Exception as err:  # an instruction inside the error without a channel
        raise CircuitError(
            f"noise: cannot turn quantum error {getattr(error, 'id', error)!r} into a channel "
            f"({err}); use errors built from Kraus maps, Pauli errors, unitaries or resets"
        ) from err
    data = np.asarray(channel.data, dtype=complex)
    d = int(round(np.sqrt(data.shape[0])))
    # Qiskit: S[i + j*d, i' + j'*d]; here M[i*d + j, i'*d + j'].
    s = data.reshape(d, d, d, d)  # (j, i, j', i')
    return s.transpose(1, 0, 3, 2).reshape(d * d, d * d)


def unitary_superop(u: np.ndarray) -> np.ndarray:
    """``U (x) conj(U)`` in the row-major convention: (d, d) -> (d*d, d*d)."""
    d = u.shape[-1]
    return np.einsum("ab,cd->acbd", u, u.conj()).reshape(d * d, d * d)


def readout_factors(error) -> tuple[float, float]:
    """(offset, scale) = (e1 - e0, 1 - e0 - e1) of a one-qubit Aer ``ReadoutError``.

    A Pauli factor sigma measured through this error reads as ``offset * I + scale * sigma``.

    Raises:
        CircuitError: the readout error acts on more than one qubit (correlated readout).
    """
    probs = np.asarray(error.probabilities, dtype=float)
    if probs.shape != (2, 2):
        raise CircuitError(
            f"noise: correlated readout error on {error.number_of_qubits} qubits is not "
            "supported by the exact engine; give one ReadoutError per qubit"
        )
    e0, e1 = float(probs[0, 1]), float(probs[1, 0])
    return e1 - e0, 1.0 - e0 - e1


def correlated_readout(
    qubits: tuple[int, ...], probabilities: np.ndarray, letters: dict[int, str]
) -> np.ndarray:
    """The measured observable on a correlated readout group: ``sum_p f(p) Pi_p``.

    Args:
        qubits: the group's qubits as given to Aer (qubits[0] the least significant bit).
        probabilities: (2**k, 2**k), entry [p, m] = P(read m | true p).
        letters: qubit -> Pauli letter ("X", "Y", "Z") the term measures; the group's qubits
            absent from it are read in the Z basis and do not enter the product.

    Returns:
        (2**k, 2**k) complex Hermitian matrix on the group's qubits, the *last* qubit of
        ``qubits`` most significant (Kronecker order reversed(qubits)).
    """
    k = len(qubits)
    paulis = {
        "X": np.array([[0, 1], [1, 0]], dtype=complex),
        "Y": np.array([[0, -1j], [1j, 0]]),
        "Z": np.diag([1.0, -1.0]).astype(complex),
    }
    bits = (np.arange(2**k)[:, None] >> np.arange(k)[None, :]) & 1  # (2**k, k), [p, i]
    measured = np.array([q in letters for q in qubits])
    parity = (-1.0) ** (bits[:, measured].sum(axis=1))  # (2**k,) over read outcomes m
    f = np.asarray(probabilities, dtype=float) @ parity  # (2**k,) over true outcomes p
    out = np.zeros((2**k, 2**k), dtype=complex)
    for p in range(2**k):
        term = np.ones((1, 1), dtype=complex)
        for i in reversed(range(k)):  # most significant first
            sigma = paulis[letters.get(qubits[i], "Z")]
            term = np.kron(term, (np.eye(2) + (-1) ** bits[p, i] * sigma) / 2)
        out += f[p] * term
    return out
