"""Exact noisy execution: an Aer ``NoiseModel`` applied as channels, in torch.

channels.py     Aer errors as row-major superoperators; readout errors as Pauli factors
noise_table.py  Aer's rules: which error follows which gate, readout per qubit; basis check
delays.py       delays of a scheduled circuit as Idle gates with Aer's thermal relaxation
positional.py   a device model's channel per gate occurrence (and the same for Aer, exactly)
readout.py      readout errors folded into observables (for Aer's estimator, one physics)
fusion.py       runs of gates (each with its own error) fused into one channel on <= 3 qubits
plan.py         light cones and mixed product blocks: the cheapest exact cut per term
traces.py       a block read backward from its last batched channel, when cheaper for B
pauli.py        Pauli strings carried backward: cones no density matrix holds (ring_96)
density_ops.py  batched channels, partial traces, Kronecker products, products with factors
engine.py       NoisyEngine (exact noisy values, optional seeded shot noise)
"""

from hq_qiskit.quantum.fast.shots import sample_terms
from hq_qiskit.quantum.noisy.engine import NoisyEngine

__all__ = ["NoisyEngine", "sample_terms"]
