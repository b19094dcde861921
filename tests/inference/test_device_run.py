"""The library behind ``hq-qiskit run``: device lookup with an account (the runtime's own local
service stands in for IBM's), noisy checkpoints loaded as ideal models, patch selection and
measurement groups."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from qiskit_ibm_runtime.fake_provider.local_service import QiskitRuntimeLocalService
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from bench.damping import NoiseCalibration, NoisyModule
from hq_qiskit.circuits import build_block, enrichment_qcnn
from hq_qiskit.errors import CheckpointError, ConfigError, HQError
from hq_qiskit.hardware.backends import Backend, fake_backend, get_backend
from hq_qiskit.hardware.layout import isa_block
from hq_qiskit.hardware.qpu_cost import qpu_seconds_estimate, rep_delay_s
from hq_qiskit.hardware.runtime import resolve
from hq_qiskit.inference.options import RunOptions
from hq_qiskit.inference.passes import dependency_waves, load_exact_model, predict
from hq_qiskit.inference.patches import select_patches
from hq_qiskit.inference.plan import check_budget, jobs_opened, measurement_groups, plan_cost
from hq_qiskit.inference.taps import install_taps
from hq_qiskit.models import HybridSegmenter, build_model
from hq_qiskit.training.checkpoint import save_checkpoint
from hq_qiskit.training.config import TrainConfig

OPTIONS = {"width": 4, "depth": 2, "patch_px": 128, "num_classes": 5, "in_channels": 3}


def test_a_retired_device_with_an_account_lists_the_usable_ones():
    service = QiskitRuntimeLocalService()
    with pytest.raises(ConfigError, match="'ibm_brisbane' has been retired") as err:
        resolve(get_backend("ibm_brisbane"), service=service)
    assert "the account can use fake_" in str(err.value) and "backends.toml" in str(err.value)
    with pytest.raises(ConfigError, match="'ibm_fez' is not available to this account"):
        resolve(get_backend("ibm_fez"), service=service)


def test_a_noisy_run_checkpoint_loads_as_the_exact_model(tmp_path):
    torch.manual_seed(0)
    model = build_model("hq-unet", OPTIONS)
    ((block, core),) = model.quantum_blocks()
    cal = NoiseCalibration(
        key="k", block=block.name, backend="FakeBrisbane", layout=tuple(range(16)),
        damping=(0.8,) * 32, offset=(0.0,) * 32, samples=1, shots=1, seed=0, fit_mad=0.0,
        seconds=0.0,
    )  # fmt: skip
    model.replace_quantum_module(core, NoisyModule(core, cal))  # as a noisy-Aer run trains it
    cfg = TrainConfig(model="hq-unet", model_options=OPTIONS, backend="aer-noisy-brisbane")
    path = tmp_path / "last.pt"
    save_checkpoint(path, {"config": cfg.to_dict(), "model": model.state_dict()})
    exact, found, config = load_exact_model(tmp_path)
    assert found == path  # a run folder without best.pt falls back to last.pt
    assert config["backend"] == "aer-noisy-brisbane"
    ((_, module),) = exact.quantum_blocks()
    assert not isinstance(module, NoisyModule)
    assert torch.equal(module.weight, core.weight)
    x = torch.rand(2, 48) * 2 - 1
    assert torch.allclose(module(x), core(x))  # exact values, no damping


def test_a_classical_model_is_refused(tmp_path):
    opts = {**OPTIONS, "bottleneck": "classical"}
    model = build_model("hq-unet", opts)
    cfg = TrainConfig(model="hq-unet", model_options=opts)
    save_checkpoint(tmp_path / "best.pt", {"config": cfg.to_dict(), "model": model.state_dict()})
    with pytest.raises(CheckpointError, match="has no quantum blocks"):
        load_exact_model(tmp_path)


def test_patches_are_spread_over_the_tile_grid():
    config = {
        "data": None,
        "class_names": ["background", "building", "woodland", "water", "road"],
        "model_options": {"patch_px": 128},
        "mean": [100.0] * 3,
        "std": [50.0] * 3,
    }
    patches = select_patches(config, None, "val", n_tiles=1, n_patches=4)
    assert patches.per_tile == 16 and len(patches.tiles) == 1 and patches.split_tiles >= 1
    assert len(patches.dataset) == 4 and patches.ids[0].endswith("@0,0")
    assert patches.ids[-1].endswith("@384,384")  # the last patch of the 4 x 4 grid
    image, mask = patches.dataset[0]
    assert image.shape == (3, 128, 128) and mask.shape == (128, 128)
    with pytest.raises(ConfigError, match="--tiles and --patches"):
        select_patches(config, None, "val", n_tiles=0, n_patches=None)


def test_the_enrichment_qcnn_needs_two_measurement_settings():
    assert measurement_groups(enrichment_qcnn().observables) == 2  # all-Z, all-X


class MixtureOfExperts(HybridSegmenter):
    """HQF-Net's QMoE shape at toy size: a gate block reads the image, two experts read the
    gate's output, a skip block reads the image too. Cheap modules stand in for the blocks'
    engines (the taps only call them); the blocks are real circuits."""

    def __init__(self) -> None:
        super().__init__()
        self.gate, self.skip = nn.Linear(48, 32), nn.Linear(48, 32)
        self.experts = nn.ModuleList([nn.Linear(48, 32), nn.Linear(48, 32)])
        self.out = nn.Conv2d(32, 5, 1)

    def quantum_blocks(self):
        qcnn, expert = enrichment_qcnn(), build_block("expert_local")
        return [(qcnn, self.gate), (qcnn, self.skip)] + [(expert, e) for e in self.experts]

    def forward(self, x):
        f = x.mean((2, 3)).repeat(1, 16)  # (B, 48)
        g = self.gate(f)  # (B, 32)
        mixed = sum(e(torch.cat([g, g[:, :16]], 1)) for e in self.experts) + self.skip(f)
        return self.out(mixed[:, :, None, None].expand(-1, -1, *x.shape[2:]))


def test_independent_blocks_form_waves_experts_after_their_gate():
    torch.manual_seed(0)
    net = MixtureOfExperts().eval()
    taps = install_taps(net)
    loader = DataLoader(TensorDataset(torch.randn(2, 3, 8, 8), torch.zeros(2, 8, 8)))

    def run_pass(recording, desc):
        taps[0].clock[0] = 0
        for tap in taps:
            tap.reset()
            tap.record = tap in recording
        return predict(net, loader, desc)

    waves = dependency_waves(taps, [0, 1, 2, 3], run_pass)
    assert waves == [[0, 1], [2, 3]]  # gate and skip read the image; both experts, the gate
    assert all(t.replay is None for t in taps)  # the probe leaves every block exact


PLAN = [
    {"block": "a", "circuits": 8, "qpu_seconds_lower_bound": 30.0, "qpu_seconds_runtime": None},
    {"block": "b", "circuits": 8, "qpu_seconds_lower_bound": 30.0, "qpu_seconds_runtime": 50.0},
]


def test_a_device_run_over_budget_or_unconfirmed_submits_nothing():
    device_entry = Backend(name="m", kind="runtime", device="fake_manila", noise="FakeManilaV2",
                           shots=64)  # fmt: skip
    device = resolve(device_entry, service=QiskitRuntimeLocalService())
    assert not device.local

    def never(question):
        raise AssertionError(f"asked {question!r}")

    # the budget compares the larger estimate per block (a plan row without an upper
    # estimate falls back to its lower bound): 30 + 50 = 80 s
    with pytest.raises(ConfigError, match="upper estimate 80 QPU seconds on fake_manila"):
        check_budget(PLAN, device, RunOptions(64, 0.0, max_qpu_seconds=79), never)
    asked = []
    with pytest.raises(HQError, match="nothing submitted to fake_manila"):
        check_budget(PLAN, device, RunOptions(64, 0.0, max_qpu_seconds=80), asked.append)
    assert asked == ["Submit 16 circuits (up to about 80 QPU seconds) to fake_manila?"]
    check_budget(PLAN, device, RunOptions(64, 0.0, yes=True), never)
    with pytest.raises(ConfigError):  # the budget holds with --yes too
        check_budget(PLAN, device, RunOptions(64, 0.0, max_qpu_seconds=1, yes=True), never)
    local = resolve(Backend(name="l", kind="runtime", noise="FakeManilaV2", local=True, shots=8))
    check_budget(PLAN, local, RunOptions(64, 0.0, max_qpu_seconds=1), never)  # no QPU spent


def test_the_documented_qpu_figure_for_one_tile_on_brisbane():
    """docs/benchmarks.md: 512 circuits x 4096 shots of the enrichment QCNN on ibm_brisbane."""
    entry = get_backend("ibm_brisbane")
    fake = fake_backend(entry.noise)
    mapped = isa_block(enrichment_qcnn(), entry, fake)
    seconds = qpu_seconds_estimate(mapped, fake.target, 512, 4096, rep_delay=rep_delay_s(fake))
    assert seconds == pytest.approx(585, abs=3)


def test_the_lower_bound_counts_two_seconds_per_job_not_per_block():
    """Blocks of one dependency wave share one job (one PUB each): the 2 s per sub-job of
    the QPU lower bound is paid once per job, or the bound would overstate the cost."""
    assert jobs_opened([3, 1, 2, 0], [[3], [1, 2, 0]]) == [1, 1, 0, 0]
    entry = get_backend("ibm_fez")
    target = resolve(entry)  # offline: the fake twin in local testing mode
    mapped = isa_block(enrichment_qcnn(), entry, target.backend)
    pub = (mapped.circuit, None, np.zeros((4, 1, mapped.circuit.num_parameters)))
    rows = plan_cost(target, ["a", "b"], [mapped] * 2, [pub] * 2, [2, 2], 64, 0.0, [1, 0])
    opens, joins = (r["qpu_seconds_lower_bound"] for r in rows)
    rep = rep_delay_s(target.backend)
    bare = qpu_seconds_estimate(mapped, target.backend.target, 8, 64, n_subjobs=0, rep_delay=rep)
    assert joins == pytest.approx(bare) and opens == pytest.approx(bare + 2.0)
    per_block = plan_cost(target, ["a", "b"], [mapped] * 2, [pub] * 2, [2, 2], 64, 0.0)
    assert sum(r["qpu_seconds_lower_bound"] for r in per_block) == pytest.approx(opens + joins + 2)
