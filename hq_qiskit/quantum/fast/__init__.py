"""The fast exact engine, compiled from the circuit object itself.

gates.py     gate matrices fitted from Qiskit's own gates (trigonometric polynomials)
program.py   read a circuit: gates, qubits, affine angle maps, Pauli terms
fusion.py    fuse gates into groups of <= 4 qubits
plan.py      light cones and product blocks: the cheapest exact route per Pauli term
network.py   the tensor-network route: the cone-pruned <0|U^dag O U|0> with an opt_einsum path
stacks.py    build the matrices of same-shaped groups together
adjoint.py   adjoint differentiation of a run of gates: a backward without intermediates
memory.py    the memory a plan needs, estimated before allocating, and the guard
tensor_ops.py  apply a gate to qubit axes, reduced density matrices, Kronecker products
execute.py   the cut route's forward phases: product blocks to the cuts, values on each cone
cones.py     the product blocks a light cone reads at its cut (ideal and noisy engine)
shots.py     shot noise per measurement basis (shared shots), for this and the noisy engine
engine.py    FastEngine, the torch module that executes the plan
"""

from hq_qiskit.quantum.fast.engine import FastEngine

__all__ = ["FastEngine"]
