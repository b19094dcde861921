"""Training runs and what they leave behind.

    config.py        TrainSettings (as given, frozen) and TrainConfig (the resolved record)
    runner.py        prepare (writes the record), start_training, resume, evaluate_run
    loop.py          fit: AdamW, warm-up + cosine, validation and checkpoints every epoch
    checkpoint.py    the checkpoint file format (version 2; version 1 read and upgraded)
    restore.py       restore(): the one way from a run folder or checkpoint back to a model
    run_dir.py       run folders: next free name, config.json, metrics.jsonl
    metrics.py       mIoU, overall accuracy, per-class IoU from one confusion matrix
    plots.py         curves.png, confusion.png, overlays.png
    engine_check.py  the quantum blocks' outputs against exact Aer at start and end
    tile_scores.py   per-tile confusion matrices of a run on any split of any folder
    statistics.py    mean ± std over seeds, intervals over seeds and whole images, verdicts
    interventions.py test-time replacement of a block's output (mean, shuffled, zero)
    diagnose.py      hq-qiskit diagnose: interventions, angles moved, gradient ratio, spread
    diagnose_report.py  diagnose's table and diagnose.png
    grad_ratio.py    RMS gradient at the angles over that at the classical layers
    ablation_plan.py    an ablation's runs: variants x seeds x backends, checked up front
    ablation.py         the ablation engine: runs the plan through an executor, the report
    ablation_report.py  an ablation's summary, ablation.md and ablation.png

Submodules are imported where used (``from hq_qiskit.training.restore import restore``), so
importing the package costs nothing.
"""

__all__: list[str] = []
