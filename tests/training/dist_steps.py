"""Two SGD steps of the real training loop on this process's share of the patches; rank 0 saves
the weights. Run by tests/training/test_distributed.py in fresh interpreters (plain python for
one process, torchrun for two), never forked from pytest: a child forked from a process whose
OpenMP pool has run deadlocks on its first parallel region.

Usage: python dist_steps.py OUT.pt   (under torchrun: RANK, WORLD_SIZE and the rendezvous set)
"""

from __future__ import annotations

import os
import sys

import torch
import torch.distributed as td
from torch.utils.data import DataLoader

from hq_qiskit.datasets import open_tiles
from hq_qiskit.models import HQUNet
from hq_qiskit.samplers import RandomPatches
from hq_qiskit.training.config import TrainConfig
from hq_qiskit.training.distributed import Dist, unwrap
from hq_qiskit.training.loop import train_one_epoch
from hq_qiskit.training.losses import CrossEntropyDice

TINY = {"width": 4, "depth": 2, "patch_px": 64}
CFG = TrainConfig(lr=0.05, warmup_steps=0, ignore_index=255, epochs=1)
PATCHES, BATCH = 8, 2  # per process in the 2-process run; one process takes 2 * BATCH


def main(out: str, loss: str = "ce") -> None:
    rank, world = int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = HQUNet(**TINY)  # quantum bottleneck, batch norm in every DS-conv
    if world > 1:
        td.init_process_group("gloo")
    dist = Dist(rank=rank, world_size=world)
    net = dist.wrap(model, sync_batchnorm=world > 1)
    patches = RandomPatches(
        open_tiles(None, "train"), 64, PATCHES, seed=1, rank=rank, world_size=world
    )
    patches.set_epoch(1)
    loader = DataLoader(patches, batch_size=BATCH * 2 // world)
    optimizer = torch.optim.SGD(model.parameters(), lr=CFG.lr)
    loss_fn = torch.nn.CrossEntropyLoss(ignore_index=CFG.ignore_index)
    if loss == "ce+dice":
        loss_fn = CrossEntropyDice(loss_fn, 1.0)
    loss, steps = train_one_epoch(
        net, loader, optimizer, loss_fn, CFG, 0, 2, torch.device("cpu"), dist=dist
    )
    if rank == 0:
        torch.save({"state": unwrap(net).state_dict(), "loss": loss, "steps": steps}, out)
    if world > 1:
        td.destroy_process_group()


if __name__ == "__main__":
    main(*sys.argv[1:])
