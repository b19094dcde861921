"""All quantum blocks of a wave go out as ONE job in one Batch: one PUB per block, its parameter
values broadcast over the patches, each block's record naming the job id and its PUB index.

Real runtime local mode on FakeManilaV2 (5 qubits): a toy two-block model (a 2-qubit and a
3-qubit block on different physical qubits, both reading the image, so one wave) run by the
device run's own execute stage (``WaveExecutor``) and by ``jobs.submit_blocks`` directly.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from qiskit import QuantumCircuit
from qiskit.circuit import ParameterVector
from qiskit.quantum_info import SparsePauliOp
from torch import nn
from torch.utils.data import TensorDataset

from hq_qiskit.circuits import QuantumBlock
from hq_qiskit.hardware.backends import Backend
from hq_qiskit.hardware.jobs import (
    PendingJob,
    PubSpec,
    collect,
    open_mode,
    submit_block,
    submit_blocks,
)
from hq_qiskit.hardware.layout import MappedCircuit, transpile_block
from hq_qiskit.hardware.region_sim import compact, idle_qubits, run_region, trim
from hq_qiskit.hardware.runtime import resolve
from hq_qiskit.inference.execute import WaveExecutor
from hq_qiskit.inference.options import RunOptions
from hq_qiskit.inference.passes import ModelPasses
from hq_qiskit.inference.patches import Patches
from hq_qiskit.models import HybridSegmenter
from hq_qiskit.quantum import connect_block
from tests.hardware.test_device_jobs import StandInService

MANILA = Backend(name="fake_manila", kind="runtime", noise="FakeManilaV2", local=True, shots=256,
                 optimization_level=1)  # fmt: skip
N = 4  # patches


def chain_block(name: str, n: int) -> QuantumBlock:
    """RY(x_i) on every qubit, a CX chain, RY(w_0) on qubit 0; <Z_0>, <Z_0 Z_1>, <X_0>."""
    x, w = ParameterVector(f"{name}_x", n), ParameterVector(f"{name}_w", 1)
    qc = QuantumCircuit(n)
    for i in range(n):
        qc.ry(x[i], i)
    for i in range(n - 1):
        qc.cx(i, i + 1)
    qc.ry(w[0], 0)
    obs = (SparsePauliOp("I" * (n - 1) + "Z"), SparsePauliOp("I" * (n - 2) + "ZZ"),
           SparsePauliOp("I" * (n - 1) + "X"))  # fmt: skip
    return QuantumBlock(name, qc, x, w, obs, ("Z0", "Z0Z1", "X0"))


class TwoBlocks(HybridSegmenter):
    """Two real blocks on the exact fast engine, both reading the image (one wave)."""

    def __init__(self) -> None:
        super().__init__()
        self.a, self.b = chain_block("a", 2), chain_block("b", 3)
        self.qa = connect_block(self.a, initial_weights=torch.tensor([0.3]))
        self.qb = connect_block(self.b, initial_weights=torch.tensor([-0.4]))
        self.out = nn.Conv2d(6, 5, 1)

    def quantum_blocks(self):
        return [(self.a, self.qa), (self.b, self.qb)]

    def forward(self, x):
        f = x.mean((2, 3))  # (B, 3) in [0, 1]
        y = torch.cat([self.qa(3 * f[:, :2]), self.qb(3 * f)], 1)  # (B, 6)
        return self.out(y[:, :, None, None].expand(-1, -1, *x.shape[2:]))


@pytest.fixture
def no_account(monkeypatch, tmp_path):
    monkeypatch.delenv("QISKIT_IBM_TOKEN", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


def mapped_blocks(model: TwoBlocks, target) -> list[MappedCircuit]:
    """Block a on physical qubits (0, 1) (trivial), block b where the noise-aware layout puts it
    (not a superset of a's): the run's region holds both."""
    dev = target.backend.target
    ma = transpile_block(model.a.circuit, model.a.observables, dev, optimization_level=1,
                         strategy="trivial")  # fmt: skip
    mb = transpile_block(model.b.circuit, model.b.observables, dev, optimization_level=1,
                         strategy="noise_aware")  # fmt: skip
    return [ma, mb]


def test_a_two_block_wave_is_one_job_of_two_pubs(no_account, tmp_path):
    torch.manual_seed(0)
    model = TwoBlocks().eval()
    images = torch.rand(N, 3, 4, 4)
    dataset = TensorDataset(images, torch.zeros(N, 4, 4, dtype=torch.long))
    passes = ModelPasses(model, dataset, batch_size=2)
    target = resolve(MANILA)
    mapped = mapped_blocks(model, target)
    assert set(mapped[0].active_qubits) != set(mapped[1].active_qubits)
    _, _, order = passes.exact_pass()
    waves = passes.waves(order)
    assert waves == [[0, 1]]  # independent blocks: one wave
    ids = [f"t@{k}" for k in range(N)]
    patches = Patches(dataset, ids, ["t"], N, 1)  # type: ignore[arg-type]
    plan = {i: {"local_seconds": 1.0} for i in order}
    opts = RunOptions(256, 0.0, seed=3)
    said: list[str] = []
    executor = WaveExecutor(passes, mapped, {0: 2, 1: 2}, plan, target, MANILA, opts, patches,
                            tmp_path, said.append)  # fmt: skip
    rows = executor.run(waves, order)

    # one job, two PUBs: both rows and both records name the same job, PUB 0 and PUB 1
    assert len({r["job_id"] for r in rows}) == 1
    assert [r["pub_index"] for r in rows] == [0, 1]
    assert rows[0]["job_pubs"] == rows[1]["job_pubs"] == ["00-a", "01-b"]
    for r in rows:
        record = json.loads((tmp_path / "jobs" / f"{r['tag']}.json").read_text())
        assert record["job_id"] == r["job_id"] and record["pub_index"] == r["pub_index"]
        assert record["samples"] == ids and record["mode"] == "batch"
    # each PUB's values have the patches' batch shape (N, n_obs); noisy but close to exact
    for i, r in enumerate(rows):
        with np.load(tmp_path / "values" / f"{r['tag']}.npz") as saved:
            hw, exact = saved["hardware"], saved["exact"]
        assert hw.shape == exact.shape == (N, 3)
        assert np.abs(hw - exact).mean() < 0.15, (i, hw, exact)  # 256 shots, Manila's noise
    assert any("one job with the wave's 2 block(s)" in line for line in said)

    # the same PUBs submitted block by block (same seed, same run region) give the same values
    for i, r in enumerate(rows):
        m, values = mapped[i], passes.pub(i, mapped[i])[2]
        assert values.shape == (N, 1, len(m.circuit.parameters))  # broadcast over the patches
        with open_mode(target, mapped) as run:
            alone = submit_block(m, values, target, tag=f"alone{i}", run_dir=tmp_path / "alone",
                                 shots=256, seed=3, mode=run)  # fmt: skip
            assert isinstance(alone, PendingJob)
            with np.load(tmp_path / "jobs" / f"{r['tag']}.npz") as saved:
                assert np.array_equal(collect(alone).evs, saved["evs"])


def pubs(target, model: TwoBlocks) -> list[PubSpec]:
    rng = np.random.default_rng(1)
    specs = []
    for m, tag in zip(mapped_blocks(model, target), ("a", "b"), strict=True):
        values = rng.uniform(0, 3, (N, 1, len(m.circuit.parameters)))
        specs.append(PubSpec(m, values, tag, [f"s{k}" for k in range(N)]))
    return specs


def test_records_are_written_before_waiting_and_resume_reads_its_own_pub(no_account, tmp_path):
    target = resolve(MANILA)
    specs = pubs(target, TwoBlocks())
    started = submit_blocks(specs, target, run_dir=tmp_path, shots=128, seed=0)
    assert all(isinstance(p, PendingJob) for p in started)
    jobs = Path(tmp_path) / "jobs"
    before = [json.loads((jobs / f"{t}.json").read_text()) for t in ("a", "b")]
    assert [r["status"] for r in before] == ["SUBMITTED", "SUBMITTED"]  # before any wait
    assert before[0]["job_id"] == before[1]["job_id"] == started[0].shared.job.job_id()
    assert [r["pub_index"] for r in before] == [0, 1]
    first = [collect(p) for p in started]
    assert len(started[0].shared.job.result()) == 2  # one job holding both PUBs

    # resume with b's values lost: a comes back saved, b alone runs again as a new job's PUB 0
    (jobs / "b.npz").unlink()
    again = submit_blocks(specs, target, run_dir=tmp_path, shots=128, seed=0, resume=True)
    assert again[0].resumed and np.array_equal(again[0].evs, first[0].evs)
    assert isinstance(again[1], PendingJob) and again[1].index == 0
    b = collect(again[1])
    assert b.record["replaces"] == first[1].job_id and b.record["job_pubs"] == ["b"]
    assert b.job_id != first[1].job_id


def estimator_shaped(qc: QuantumCircuit) -> QuantumCircuit:
    """``qc`` followed by what the runtime's Estimator appends on EVERY qubit: a barrier across
    all qubits, a basis-change rotation, the measurements."""
    out = qc.copy()
    out.barrier()
    for q in range(out.num_qubits):
        out.rz(0.3, q)
        out.sx(q)
    out.measure_all()
    return out


def test_trim_drops_the_qubits_a_block_leaves_alone_and_nothing_else(no_account):
    target = resolve(MANILA)
    ma, mb = mapped_blocks(TwoBlocks(), target)
    region = run_region([ma, mb])
    assert set(ma.active_qubits) | set(mb.active_qubits) == set(region)
    qc, obs = compact(ma, region)
    assert qc.num_qubits == len(region) and obs[0].num_qubits == len(region)
    shaped = estimator_shaped(qc.assign_parameters([0.1] * qc.num_parameters))
    own = {region.index(q) for q in ma.active_qubits}
    other = {region.index(q) for q in mb.active_qubits}
    assert idle_qubits(shaped) == set(range(len(region))) - own  # basis changes notwithstanding
    trimmed = trim(shaped, [other, own])
    assert {trimmed.find_bit(q).index for ins in trimmed.data for q in ins.qubits} == own
    assert trim(shaped, [other]) is shaped  # what is left is no block's: it runs whole
    # a barrier across every qubit BEFORE the block's gates (a twirled or TREX program's shape):
    # a product block's qubits then look idle, no block's set is left, nothing is trimmed
    early = QuantumCircuit(4)
    early.barrier()
    early.rx(0.2, 0)
    early.rx(0.4, 1)
    early = estimator_shaped(early)
    assert trim(early, [{0, 1}, {2, 3}]) is early
    # a product block (no two-qubit gate) keeps every qubit: they all have gates of the block
    product = QuantumCircuit(3)
    for q in range(3):
        product.rx(0.2 * (q + 1), q)
    assert idle_qubits(estimator_shaped(product)) == set()
    assert trim(estimator_shaped(product), [{0, 1, 2}]).num_nonlocal_gates() == 0
    with pytest.raises(ValueError, match="lacks active qubits"):
        compact(mb, ma.active_qubits)


def test_a_device_job_of_two_pubs_is_fetched_once_on_resume(no_account, tmp_path):
    """The device branch against the stand-in service of test_device_jobs.py: one job, both
    records name it; on resume with the values lost it is fetched ONCE by its id and each
    block reads its own PUB of it."""
    service = StandInService()
    device = Backend(name="manila", kind="runtime", device="fake_manila", noise="FakeManilaV2",
                     shots=128, optimization_level=1)  # fmt: skip
    target = resolve(device, service=service)
    assert not target.local
    specs = pubs(resolve(MANILA), TwoBlocks())
    started = submit_blocks(specs, target, run_dir=tmp_path, shots=128)
    job = started[0].shared.job
    assert all(isinstance(p, PendingJob) and p.shared.job is job for p in started)
    first = [collect(p) for p in started]
    assert first[0].job_id == first[1].job_id == job.job_id()
    assert [r.record["pub_index"] for r in first] == [0, 1]
    assert not np.array_equal(first[0].evs, first[1].evs)
    service.jobs[job.job_id()] = job  # the service can hand the finished job back
    for tag in ("a", "b"):
        (tmp_path / "jobs" / f"{tag}.npz").unlink()
    again = submit_blocks(specs, target, run_dir=tmp_path, shots=128, resume=True)
    assert service.fetched == [job.job_id()]  # one fetch for the job's two PUBs
    for k, pending in enumerate(again):
        assert isinstance(pending, PendingJob) and pending.index == k
        assert np.array_equal(collect(pending).evs, first[k].evs)
