"""Device inference: a trained model with every quantum block executed by IBM Runtime.

An application beside ``predict.py``: it restores a run (``training.restore``), taps its
quantum modules, sends each block's inputs to the runtime as one PUB and replays the values.

    taps.py        BlockTap: record a block's inputs, replay values computed elsewhere
    patches.py     select_patches: the first tiles of a split, cut into the model's grid
    device_run.py  run_inference: the passes, one PUB per block, scores and cost; RunOptions
    local_sim.py   --simulator exact-noisy (with its Aer check) and --compare-mitigation
    report.py      run.md: the result in words
"""

from hq_qiskit.inference.device_run import RunOptions, run_inference, with_mitigation
from hq_qiskit.inference.patches import Patches, select_patches
from hq_qiskit.inference.report import RESULT_JSON, RESULT_MD, markdown
from hq_qiskit.inference.taps import BlockTap, install_taps

__all__ = [
    "RESULT_JSON",
    "RESULT_MD",
    "BlockTap",
    "Patches",
    "RunOptions",
    "install_taps",
    "markdown",
    "run_inference",
    "select_patches",
    "with_mitigation",
]
