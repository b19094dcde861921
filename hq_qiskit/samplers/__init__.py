"""Samplers: normalised image/mask patches from tiles, as torch Datasets.

random_patch  RandomPatches: random patches per epoch, flips and 90-degree turns;
              EpochIndices: (epoch, i) indices for persistent DataLoader workers
grid          GridPatches: every tile on a regular grid, for evaluation
transforms    dihedral (image and mask alike), normalise
stats         channel_stats: per-channel mean/std on the 0..255 scale
"""

from hq_qiskit.samplers.grid import GridPatches, grid_starts
from hq_qiskit.samplers.random_patch import EpochIndices, RandomPatches
from hq_qiskit.samplers.stats import channel_stats
from hq_qiskit.samplers.transforms import dihedral, normalise

__all__ = [
    "EpochIndices",
    "GridPatches",
    "RandomPatches",
    "channel_stats",
    "dihedral",
    "grid_starts",
    "normalise",
]
