"""--channels-last: conv weights and batches in NHWC memory format give the same forward and
gradients as torch's default layout (to float rounding), leave the quantum block's weights
alone, and a run with it (the default) completes and records it."""

from __future__ import annotations

import json

import torch
from click.testing import CliRunner

from hq_qiskit.cli.main import cli
from hq_qiskit.models import HQUNet
from hq_qiskit.training.precision import memory_format

TINY = {"width": 4, "depth": 2, "patch_px": 64}


def test_channels_last_matches_the_default_layout():
    torch.manual_seed(0)
    ref = HQUNet(**TINY)
    nhwc = HQUNet(**TINY)
    nhwc.load_state_dict(ref.state_dict())
    nhwc.to(memory_format=memory_format(True))
    convs = [p for p in nhwc.parameters() if p.dim() == 4]
    assert all(p.is_contiguous(memory_format=torch.channels_last) for p in convs)
    assert any(not p.is_contiguous() for p in convs)  # e.g. the up-convolutions: NHWC now
    quantum = {n: p for n, p in nhwc.named_parameters() if n.startswith("bottleneck.core")}
    assert quantum and all(p.is_contiguous() for p in quantum.values())
    x = torch.randn(2, 3, 64, 64)
    out_ref = ref(x)
    out = nhwc(x.contiguous(memory_format=torch.channels_last))
    assert out.is_contiguous(memory_format=torch.channels_last)  # the activations were NHWC
    torch.testing.assert_close(out, out_ref, rtol=1e-5, atol=1e-5)
    out_ref.square().mean().backward()
    out.square().mean().backward()
    grads = dict(ref.named_parameters())
    for name, p in nhwc.named_parameters():
        torch.testing.assert_close(p.grad, grads[name].grad, rtol=1e-4, atol=1e-6, msg=name)


def test_a_channels_last_run_completes_and_says_so(tmp_path):
    args = ["train", "--width", "4", "--depth", "2", "--patch-px", "64", "--epochs", "1"]
    args += ["--patches-per-epoch", "4", "--batch-size", "2", "--aer-check-samples", "0"]
    args += ["--device", "cpu", "--out", str(tmp_path / "run")]  # channels-last by default
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "run" / "config.json").read_text())["channels_last"] is True
    record = json.loads((tmp_path / "run" / "metrics.jsonl").read_text().splitlines()[0])
    assert 0 < record["train_loss"] < 10 and 0 <= record["val_miou"] <= 1
    last = torch.load(tmp_path / "run" / "last.pt", weights_only=True)
    assert last["scaler"] == {}  # 32-bit: no loss scaler state (test_scaler_resume.py)


def test_channels_last_is_refused_for_a_model_that_does_not_declare_it(tmp_path):
    out = tmp_path / "run"
    args = ["train", "--model", "hqf-net", "--channels-last", "--device", "cpu", "--out", str(out)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert "Error: --channels-last: hqf-net is not declared safe" in result.output
    assert not out.exists()
