"""Data-parallel training with 2 CPU processes (gloo): rank-aware patches, SyncBatchNorm steps
equal to one process on the global batch, a torchrun run and its --resume, leaving the group,
and the world-size error."""

from __future__ import annotations

import gc
import json
import os
import socket
import subprocess
import sys
import time
import weakref
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.distributed as td
from click.testing import CliRunner

from hq_qiskit.cli.main import cli
from hq_qiskit.datasets import open_tiles
from hq_qiskit.errors import DataError
from hq_qiskit.models import HQUNet
from hq_qiskit.samplers import RandomPatches
from hq_qiskit.training.config import TrainConfig
from hq_qiskit.training.distributed import GlooSyncBatchNorm, leave_group

ROOT = Path(__file__).resolve().parents[2]
TINY = {"width": 4, "depth": 2, "patch_px": 64}
CFG = TrainConfig(lr=0.05, warmup_steps=0, ignore_index=255, epochs=1)
PATCHES, BATCH = 8, 2  # per process in the 2-process run; one process takes 2 * BATCH


def test_each_rank_draws_every_other_patch_of_the_single_process_epoch():
    tiles = open_tiles(None, "train")
    one = RandomPatches(tiles, 64, PATCHES, seed=3)
    ranks = [RandomPatches(tiles, 64, PATCHES, seed=3, rank=r, world_size=2) for r in (0, 1)]
    for p in (one, *ranks):
        p.set_epoch(2)
    assert [len(p) for p in ranks] == [PATCHES // 2] * 2
    assert [ranks[g % 2].draw(g // 2) for g in range(PATCHES)] == [
        one.draw(g) for g in range(PATCHES)
    ]
    assert ranks[0].draw(0) != ranks[1].draw(0)  # different patches per rank
    before = ranks[0].draw(0)
    ranks[0].set_epoch(3)
    assert ranks[0].draw(0) != before  # new patches each epoch
    with pytest.raises(DataError, match="fewer than the 3 training processes"):
        RandomPatches(tiles, 64, 2, rank=0, world_size=3)


STEPS = Path(__file__).with_name("dist_steps.py")


def _run_steps(out: Path, nproc: int, loss: str = "ce") -> dict:
    """dist_steps.py in fresh interpreters: plain python for 1 process, torchrun for more."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "PYTHONFAULTHANDLER": "1"}
    launcher = (
        [sys.executable, str(STEPS)]
        if nproc == 1
        else [sys.executable, "-m", "torch.distributed.run", "--standalone",
              f"--nproc_per_node={nproc}", str(STEPS)]
    )  # fmt: skip
    done = subprocess.run([*launcher, str(out), loss], env=env, capture_output=True, text=True)
    _assert_ok(done)
    return torch.load(out)


@pytest.mark.parametrize("loss", ["ce", "ce+dice"])
def test_two_processes_with_sync_batchnorm_step_like_one_with_the_global_batch(tmp_path, loss):
    """Cross-entropy, and cross-entropy + Dice (whose per-class sums are all-reduced inside the
    graph), give each process the gradient of the global batch's loss. Compared with SGD, not
    the runs' AdamW: AdamW's first step is lr * g / (|g| + eps), which turns float noise in
    gradients that are mathematically zero (a conv bias right before batch norm) into +-lr,
    so AdamW weights of two exact-equal computations differ by float noise
    magnified to the learning rate. SGD shows the gradients themselves agree."""
    two = _run_steps(tmp_path / "two.pt", 2, loss)
    one = _run_steps(tmp_path / "one.pt", 1, loss)
    assert two["steps"] == one["steps"] == 2
    assert two["loss"] == pytest.approx(one["loss"], rel=1e-5)
    torch.manual_seed(0)
    start = HQUNet(**TINY).state_dict()
    for key, value in one["state"].items():
        if value.is_floating_point():
            assert torch.allclose(two["state"][key], value, atol=1e-5), key
    moved = [k for k, v in one["state"].items() if v.is_floating_point()]
    assert any(not torch.equal(one["state"][k], start[k]) for k in moved)  # steps were taken


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_node(n: int, port: int, out: Path, log: Path) -> subprocess.Popen:
    """One torchrun "node" of one process meeting at localhost:``port``. Node 0 hosts the c10d
    store (``is_host=1``) and fails at once if the port was taken; left to guess, both nodes
    would join whatever already listens there as clients and wait forever."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    command = [
        sys.executable, "-m", "torch.distributed.run", "--nnodes=2", "--nproc_per_node=1",
        "--rdzv-backend=c10d", f"--rdzv-endpoint=localhost:{port}", "--rdzv-id=hq-two-nodes",
        f"--rdzv-conf=is_host={int(n == 0)},join_timeout=120", str(STEPS), str(out),
    ]  # fmt: skip
    with log.open("w") as sink:  # a file, not a pipe: a full pipe would stall the node
        return subprocess.Popen(command, env=env, stdout=sink, stderr=subprocess.STDOUT)


def _wait_for_nodes(nodes: list[subprocess.Popen], timeout_s: float) -> None:
    """Wait until both nodes exit, node 0 fails, or ``timeout_s`` passes; kill any left."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and any(node.poll() is None for node in nodes):
        if nodes[0].poll() not in (None, 0):
            break  # node 1, a client, would wait for a store that never comes
        time.sleep(0.2)
    for node in nodes:
        if node.poll() is None:
            node.kill()
        node.wait()


def _run_steps_on_two_nodes(out: Path) -> tuple[dict, list[str]]:
    """dist_steps.py as two torchrun "nodes" of one process each on localhost, meeting through
    torchrun's c10d rendezvous as separate machines would (rank 0 saves to ``out``). A port
    is free when picked and may be taken before node 0 binds it (another test's listener):
    that attempt is repeated on a new port, up to three times."""
    for attempt in range(3):
        port = _free_port()
        logs = [out.with_name(f"node{n}-try{attempt}.log") for n in (0, 1)]
        nodes = [_start_node(n, port, out, log) for n, log in zip((0, 1), logs, strict=True)]
        _wait_for_nodes(nodes, timeout_s=240)
        texts = [log.read_text() for log in logs]
        if not (nodes[0].returncode != 0 and "EADDRINUSE" in texts[0]):
            break
    for n, (node, text) in enumerate(zip(nodes, texts, strict=True)):
        assert node.returncode == 0, f"node {n} (exit {node.returncode}):\n{text[-3000:]}"
    return torch.load(out), texts


def test_two_nodes_through_the_rendezvous_step_like_one_node_of_two_processes(tmp_path):
    nodes, _ = _run_steps_on_two_nodes(tmp_path / "nodes.pt")
    one_node = _run_steps(tmp_path / "one_node.pt", 2)
    assert nodes["steps"] == one_node["steps"] == 2
    assert nodes["loss"] == pytest.approx(one_node["loss"], rel=1e-6)
    for key, value in one_node["state"].items():
        if value.is_floating_point():
            torch.testing.assert_close(nodes["state"][key], value, rtol=1e-6, atol=1e-7, msg=key)


def test_sync_batchnorm_outside_a_group_is_plain_batchnorm():
    torch.manual_seed(0)
    bn = torch.nn.BatchNorm2d(3)
    sync = GlooSyncBatchNorm.convert(torch.nn.Sequential(torch.nn.BatchNorm2d(3)))[0]
    assert isinstance(sync, GlooSyncBatchNorm) and set(sync.state_dict()) == set(bn.state_dict())
    x = torch.randn(4, 3, 5, 5)
    assert torch.allclose(sync(x), bn(x))


def test_more_processes_than_patches_is_one_clear_line(tmp_path, monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "4")  # as torchrun --nproc_per_node=4 sets it
    monkeypatch.setenv("RANK", "0")
    args = ["train", "--patches-per-epoch", "3", "--device", "cpu", "--out", str(tmp_path / "r")]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "Error: --patches-per-epoch 3 is fewer than the 4 training processes: each needs at "
        "least one patch; draw at least 4 patches per epoch or start fewer processes "
        "(torchrun --nproc_per_node)"
    ]
    assert not (tmp_path / "r").exists()


def _assert_ok(done: subprocess.CompletedProcess) -> None:
    """Exit code 0, else fail with the ends of both streams: how far the run got, and why."""
    assert done.returncode == 0, f"{done.stdout[-2000:]}\n--- stderr ---\n{done.stderr[-3000:]}"


def _torchrun(*args: str) -> subprocess.CompletedProcess:
    # faulthandler: a process killed by a signal (SIGABRT from C++) prints its Python stacks
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "PYTHONFAULTHANDLER": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    return subprocess.run(
        [*cmd, "-m", "hq_qiskit", "train", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )


def test_torchrun_trains_resumes_and_only_rank_0_writes(tmp_path):
    run = tmp_path / "run"
    tiny = ["--width", "4", "--depth", "2", "--patch-px", "64", "--batch-size", "2"]
    tiny += ["--patches-per-epoch", "8", "--aer-check-samples", "0", "--device", "cpu"]
    done = _torchrun(*tiny, "--epochs", "1", "--sync-batchnorm", "--out", str(run))
    _assert_ok(done)
    out = done.stdout
    assert "training on 2 processes (gloo, cpu): global batch 4 (2 per process x 2)" in out
    assert "peak lr 0.003" in out  # the default --lr
    assert out.count("Validation report") == 1  # rank 0 speaks once
    assert {"config.json", "last.pt", "best.pt", "metrics.jsonl", "report.json"} <= {
        p.name for p in run.iterdir()
    }
    assert not [p for p in run.iterdir() if ".tmp" in p.name]
    assert json.loads((run / "config.json").read_text())["sync_batchnorm"] is True

    again = _torchrun("--resume", str(run), "--epochs", "2")
    _assert_ok(again)
    assert "resuming" in again.stdout and "after epoch 1 of 2" in again.stdout
    lines = (run / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in lines] == [1, 2]
    assert np.isfinite(json.loads(lines[-1])["train_loss"])


def test_leaving_the_group_frees_the_ddp_wrapper_before_destroying_the_group(monkeypatch, tmp_path):
    """DistributedDataParallel is freed only by the cyclic collector; ``leave_group`` runs it
    before the group goes, so no reducer outlives its group into interpreter shutdown."""
    # a file store: no port another test's listener could take first
    td.init_process_group("gloo", init_method=f"file://{tmp_path / 'store'}", rank=0, world_size=1)
    destroy = td.destroy_process_group
    freed_when_destroyed = []

    def recording_destroy() -> None:
        freed_when_destroyed.append(wrapper() is None)
        destroy()

    monkeypatch.setattr(td, "destroy_process_group", recording_destroy)
    gc.disable()  # no collection between here and leave_group but its own
    try:
        net = torch.nn.parallel.DistributedDataParallel(HQUNet(**TINY))
        net(torch.randn(2, 3, 64, 64)).sum().backward()
        wrapper = weakref.ref(net)
        del net  # in a fresh process the cycle keeps it alive here; in a long one not always
        leave_group()
    finally:
        gc.enable()
        if td.is_initialized():
            destroy()
    assert freed_when_destroyed == [True]
    assert not td.is_initialized()
