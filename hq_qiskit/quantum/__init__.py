"""How a quantum block runs: ``connect`` turns a circuit into a torch module.

connect.py         connect(circuit, inputs, weights, observables, engine=...), connect_block
fast/              the exact in-process torch engine compiled from the circuit object
module.py          EngineModule: the torch conventions both in-process engines keep
noisy/             the exact noisy engine: an Aer NoiseModel applied as channels, shot noise
qiskit_engine.py   the stock EstimatorQNN + TorchConnector path on Aer, and Aer references
noise.py           device noise for either engine (calibrated damping, or noisy Aer)
"""

from hq_qiskit.quantum.connect import ENGINES, connect, connect_block

__all__ = ["ENGINES", "connect", "connect_block"]
