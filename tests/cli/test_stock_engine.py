"""The stock ``--engine qiskit`` path (EstimatorQNN + TorchConnector on Aer) through evaluate
and predict, at one 512-px patch (one 16-qubit sample) each, against the fast engine.

Training on the stock path is not run here: one forward + backward of the 16-qubit block takes
about 140 s on 2 cores (32 observables, parameter shift); ``tests/training/test_noisy_train.py``
covers its gradients on a 2-qubit block, and its full training run is gated by HQ_QISKIT_SLOW.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import rasterio
from click.testing import CliRunner

from hq_qiskit.cli.main import cli
from hq_qiskit.training.restore import restore

pytest.importorskip("qiskit_machine_learning")

SCENE = Path(__file__).resolve().parents[1] / "data" / "predict" / "scene.tif"


def invoke(*args) -> object:
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture(scope="module")
def run(tmp_path_factory, tiny_loveda) -> Path:
    """A run trained on the fast engine with 512-px patches: one patch (one sample) per tile."""
    base = tmp_path_factory.mktemp("stock")
    data = tiny_loveda(base / "data")
    tiny = ["--width", "4", "--depth", "2", "--patch-px", "512", "--epochs", "1"]
    tiny += ["--patches-per-epoch", "1", "--batch-size", "1", "--aer-check-samples", "0"]
    result = invoke("train", *tiny, "--device", "cpu", "--data", data, "--out", base / "run")
    assert result.exit_code == 0, result.output
    return base / "run"


def test_evaluate_on_the_stock_engine_equals_the_fast_engine(run):
    result = invoke("evaluate", run, "--device", "cpu")
    assert result.exit_code == 0, result.output
    fast = json.loads((run / "evaluation.json").read_text())
    result = invoke("evaluate", run, "--engine", "qiskit", "--device", "cpu")
    assert result.exit_code == 0, result.output
    # the override reaches the model evaluate restores: its block is the stock connector
    assert restore(run, engine="qiskit").model.bottleneck.core.engine == "qiskit"
    stock = json.loads((run / "evaluation-qiskit.json").read_text())  # its own file
    assert stock["patches"] == fast["patches"] == 1
    # both engines are exact (the stock path at precision 0): one confusion matrix, to the
    # pixel, but for argmax ties that float32 rounding may break either way
    diff = np.abs(np.array(stock["confusion"]) - np.array(fast["confusion"])).sum()
    assert diff <= 2 * 1e-4 * fast["pixels"]
    assert stock["miou"] == pytest.approx(fast["miou"], abs=1e-3)


def test_predict_on_the_stock_engine_equals_the_fast_engine(run, tmp_path):
    maps = {}
    for engine in ("fast", "qiskit"):
        out = tmp_path / f"{engine}.tif"
        args = ["--engine", engine, "--probabilities", "--no-progress", "--device", "cpu"]
        result = invoke("predict", run, SCENE, "-o", out, *args)
        assert result.exit_code == 0, result.output
        assert "1 tiles" in result.output  # 300x220 px in one 512-px patch
        with rasterio.open(out) as cls, rasterio.open(tmp_path / f"{engine}_probs.tif") as p:
            maps[engine] = cls.read(1), p.read().astype(int)
    (fast_cls, fast_p), (stock_cls, stock_p) = maps["fast"], maps["qiskit"]
    assert np.abs(fast_p - stock_p).max() <= 1  # probability x 255, rounding only
    assert (fast_cls == stock_cls).mean() >= 0.999
