"""Device inference: a trained model with every quantum block executed on a device-run target.

An application beside ``predict.py``: it restores a run (``training.restore``), taps its
quantum modules, sends each block's inputs to its target as one PUB and replays the values.
The pipeline (resolve, plan, execute, record) is ``device_run.run_device``.

    options.py     RunRequest (the command's flags as typed) and RunOptions (resolved)
    request.py     prepare: resolve stage, flags -> entry, target (its kind's row), options
    taps.py        BlockTap: record a block's inputs, replay values computed elsewhere
    patches.py     select_patches: the first tiles of a split, cut into the model's grid
    passes.py      the exact model, its forward passes, each block's PUB, dependency waves
    plan.py        cost plan, laptop sizing, budget and confirmation, cost per tile and split
    execute.py     WaveExecutor: every block on its target's executor, wave by wave
    record.py      run.json rows from the jobs' own records; values/<tag>.npz
    device_run.py  run_device / run_inference: the stages in order
    report.py      run.md: the result in words
"""

from hq_qiskit.inference.device_run import run_device, run_inference
from hq_qiskit.inference.options import RunOptions, RunRequest
from hq_qiskit.inference.patches import Patches, select_patches
from hq_qiskit.inference.report import RESULT_JSON, RESULT_MD, markdown
from hq_qiskit.inference.request import with_mitigation
from hq_qiskit.inference.taps import BlockTap, install_taps

__all__ = [
    "RESULT_JSON",
    "RESULT_MD",
    "BlockTap",
    "Patches",
    "RunOptions",
    "RunRequest",
    "install_taps",
    "markdown",
    "run_device",
    "run_inference",
    "select_patches",
    "with_mitigation",
]
