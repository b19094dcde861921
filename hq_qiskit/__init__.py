"""hq-qiskit: hybrid quantum-classical segmentation networks for remote sensing, on Qiskit.

Subpackages, in the order imports flow:
    circuits   what runs: Qiskit circuit builders for every quantum block
    quantum    how it runs: ``connect`` and its engines (fast exact torch engine, qiskit)
    models     HQ-UNet, HQF-Net and their layers
    datasets, samplers   rasters and tiles in, patches out
    training   loop, checkpoints, metrics, run folders
    hardware   backends.toml, transpile reports, IBM Runtime execution
    cli        the ``hq-qiskit`` command
"""

__version__ = "0.1.0"
