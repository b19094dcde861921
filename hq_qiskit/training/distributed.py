"""Data-parallel training on ``torch.distributed``: the process group, rank 0's writes, reductions.

Start a run under torchrun and every process trains one replica:

    torchrun --nproc_per_node=2 -m hq_qiskit train ...            # one machine, 2 processes
    torchrun --nnodes=2 --nproc_per_node=4 --rdzv-backend=c10d \\
        --rdzv-endpoint=HOST:29400 -m hq_qiskit train ...          # two machines

torchrun sets RANK, WORLD_SIZE and LOCAL_RANK; ``session`` reads them, joins the group (gloo on
the CPU, NCCL on CUDA, each process on ``cuda:LOCAL_RANK``) and leaves it at the end. Without
those variables (a plain ``hq-qiskit train``) it is a world of one and every function here is a
no-op, so the training code has one path.

Conventions, as in Lightning: ``--batch-size`` is per process (global batch = batch size x
world size), ``--patches-per-epoch`` is global (each process draws its share), the learning rate
is used as given (not scaled with the world size; the run states both). Only rank 0 writes
(``on_main``); the others wait at a barrier and raise the same error if rank 0's write fails.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

import torch
import torch.distributed as td
from torch import Tensor, nn

from hq_qiskit.errors import ConfigError, HQError

T = TypeVar("T")


@dataclass(frozen=True)
class Dist:
    """Where this process stands in the run: rank, world size, its device.

    Attributes:
        rank: this process's index, 0..world_size-1 (0 writes the run folder).
        world_size: processes training together (1 without torchrun).
        local_rank: index on this machine; picks the GPU ``cuda:local_rank``.
        device: the device this process trains on.
    """

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        """True when several processes train together."""
        return self.world_size > 1

    def barrier(self) -> None:
        if self.active:
            td.barrier()

    def sum(self, t: Tensor) -> Tensor:
        """Sum ``t`` over all processes (a new tensor on ``t``'s device and dtype)."""
        if not self.active:
            return t
        # NCCL reduces CUDA tensors only; gloo reduces CPU ones
        out = t.detach().to(self.device, copy=True)
        td.all_reduce(out)
        return out.to(t.device)

    def sum_differentiable(self, t: Tensor) -> Tensor:
        """Sum ``t`` over all processes inside the autograd graph (``_AllReduceSum``): a loss
        built from the sum gives each process the gradient of the global-batch loss."""
        return _AllReduceSum.apply(t) if self.active else t

    def mean(self, value: float) -> float:
        """Mean of a float over all processes."""
        if not self.active:
            return value
        return float(self.sum(torch.tensor([value], dtype=torch.float64))[0]) / self.world_size

    def on_main(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on rank 0 only and hand its result (pickled) to every rank; everyone
        waits. An ``HQError`` there is raised on every rank (same type and message), so no
        process hangs at the next collective. Files rank 0 reads or writes need not exist on
        the other machines."""
        if not self.active:
            return fn()
        box: list = [None, None]  # (error type, message) or None; result
        if self.is_main:
            try:
                box[1] = fn()
            except HQError as err:
                box[0] = (type(err), str(err))
        td.broadcast_object_list(box, src=0)
        if box[0] is not None:
            kind, message = box[0]
            raise kind(message)
        return box[1]

    def echo(self, echo: Callable[[str], None]) -> Callable[[str], None]:
        """``echo`` on rank 0; silence on the others (one copy of each line)."""
        return echo if self.is_main else _silent

    def wrap(self, model: nn.Module, sync_batchnorm: bool = False) -> nn.Module:
        """``model`` as this process trains it: with synchronised batch norm if asked (torch's
        SyncBatchNorm on CUDA, ``GlooSyncBatchNorm`` on the CPU), in DistributedDataParallel
        when several processes train. ``unwrap`` gives it back; the state dict keys do not
        change, so checkpoints load into the plain model."""
        if sync_batchnorm and self.device.type == "cuda":
            model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
        elif sync_batchnorm:
            model = GlooSyncBatchNorm.convert(model)
        if not self.active:
            return model
        ids = [self.device.index] if self.device.type == "cuda" else None
        return nn.parallel.DistributedDataParallel(model, device_ids=ids)


class _AllReduceSum(torch.autograd.Function):
    """Sum over the processes, differentiable: the gradient is summed over them too."""

    @staticmethod
    def forward(ctx, t: Tensor) -> Tensor:
        out = t.clone()
        td.all_reduce(out)
        return out

    @staticmethod
    def backward(ctx, grad: Tensor) -> Tensor:
        grad = grad.clone()
        td.all_reduce(grad)
        return grad


class GlooSyncBatchNorm(nn.modules.batchnorm._BatchNorm):
    """Batch norm whose training statistics are those of the global batch, on any device.

    torch's SyncBatchNorm runs on GPUs only (its kernels have no CPU version). This one sums
    (count, sum, sum of squares) per channel over the processes with a differentiable
    all-reduce (``_AllReduceSum``: its backward sums the gradients as well),
    so forward and backward equal batch norm over the global batch in one process (the
    variance is E[x^2] - E[x]^2, exact to float rounding for normalised activations). Outside a
    process group, or in eval mode, it is plain batch norm. Input (B, C, *) of any rank.
    """

    def _check_input_dim(self, input: Tensor) -> None:
        if input.dim() < 2:
            raise ValueError(f"expected at least 2D input (got {input.dim()}D input)")

    def forward(self, x: Tensor) -> Tensor:
        if not (self.training and td.is_available() and td.is_initialized()):
            return super().forward(x)
        c, dims = x.shape[1], [d for d in range(x.dim()) if d != 1]
        count = torch.full((1,), x.numel() / c, dtype=x.dtype, device=x.device)
        stats = _AllReduceSum.apply(torch.cat([x.sum(dims), (x * x).sum(dims), count]))  # (2C + 1,)
        n = stats[-1]
        mean = stats[:c] / n
        var = stats[c : 2 * c] / n - mean * mean  # biased, as batch norm normalises
        if self.track_running_stats and self.running_mean is not None:
            with torch.no_grad():
                self.num_batches_tracked += 1
                m = self.momentum if self.momentum is not None else 1 / self.num_batches_tracked
                self.running_mean.mul_(1 - m).add_(m * mean)
                self.running_var.mul_(1 - m).add_(m * var * n / (n - 1))
        shape = [1, c] + [1] * (x.dim() - 2)  # broadcast per channel
        y = (x - mean.view(shape)) * torch.rsqrt(var.view(shape) + self.eps)
        if self.affine:
            y = y * self.weight.view(shape) + self.bias.view(shape)
        return y

    @classmethod
    def convert(cls, module: nn.Module) -> nn.Module:
        """``module`` with every BatchNorm1d/2d/3d replaced by this class, same state."""
        if isinstance(module, nn.modules.batchnorm._BatchNorm) and not isinstance(module, cls):
            out = cls(
                module.num_features, module.eps, module.momentum, module.affine,
                module.track_running_stats,
            )  # fmt: skip
            out.load_state_dict(module.state_dict())
            out.train(module.training)
            return out.to(next(module.buffers(), torch.empty(0)).device)
        for name, child in module.named_children():
            module.add_module(name, cls.convert(child))
        return module


def _silent(_: str) -> None:
    pass


def unwrap(model: nn.Module) -> nn.Module:
    """The module inside DistributedDataParallel (or ``model`` itself)."""
    return model.module if isinstance(model, nn.parallel.DistributedDataParallel) else model


def env_world() -> tuple[int, int, int]:
    """(rank, world size, local rank) from torchrun's environment; (0, 1, 0) without it."""
    try:
        return (
            int(os.environ.get("RANK", 0)),
            int(os.environ.get("WORLD_SIZE", 1)),
            int(os.environ.get("LOCAL_RANK", 0)),
        )
    except ValueError as err:
        raise ConfigError(
            f"RANK/WORLD_SIZE/LOCAL_RANK: not integers ({err}); start with torchrun"
        ) from None


def process_device(name: str, local_rank: int, world_size: int) -> torch.device:
    """The device of this process: "auto" -> CUDA if present, else CPU; under torchrun each
    process takes ``cuda:LOCAL_RANK`` (an explicit ``cuda:N`` is refused there)."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(name)
    if device.type != "cuda" or world_size == 1:
        return device
    if device.index is not None:
        raise ConfigError(
            f"--device {name}: under torchrun each process uses cuda:LOCAL_RANK; give "
            "--device cuda (or auto) and choose GPUs with CUDA_VISIBLE_DEVICES"
        )
    if local_rank >= torch.cuda.device_count():
        raise ConfigError(
            f"--device cuda: local rank {local_rank} but {torch.cuda.device_count()} GPUs "
            "visible; start at most that many processes per node (--nproc_per_node)"
        )
    return torch.device("cuda", local_rank)


@contextmanager
def session(device: str) -> Iterator[Dist]:
    """This process's place in the run; joins torchrun's process group when there is one.

    The group is left on exit if this call joined it; an already initialised group (a caller
    that set it up itself) is used and left alone.
    """
    rank, world, local = env_world()
    dev = process_device(device, local, world)
    if world == 1:
        yield Dist(device=dev)
        return
    joined = not td.is_initialized()
    if joined:
        if dev.type == "cuda":
            torch.cuda.set_device(dev)
        td.init_process_group("nccl" if dev.type == "cuda" else "gloo")
    try:
        yield Dist(rank=td.get_rank(), world_size=td.get_world_size(), local_rank=local, device=dev)
    finally:
        if joined:
            leave_group()


def leave_group() -> None:
    """Destroy the default process group, after freeing what still holds it.

    DistributedDataParallel sits in a reference cycle, so the wrapper of a finished ``fit`` is
    freed only when the cyclic collector runs: possibly after the group is gone, or while the
    interpreter shuts down, when its reducer's gloo state is torn down in no defined order.
    Collecting first frees it here, while the group and the interpreter are whole.
    """
    gc.collect()
    td.destroy_process_group()


def check_world(patches_per_epoch: int, world_size: int) -> None:
    """Refuse a world with more processes than training patches per epoch."""
    if patches_per_epoch < world_size:
        raise ConfigError(
            f"--patches-per-epoch {patches_per_epoch} is fewer than the {world_size} training "
            f"processes: each needs at least one patch; draw at least {world_size} patches per "
            "epoch or start fewer processes (torchrun --nproc_per_node)"
        )
