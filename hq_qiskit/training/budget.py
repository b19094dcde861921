"""The noise budget of a trained model: its mIoU as every device error is scaled by a factor.

``budget_run`` trains nothing. It restores a run's weights and, for each factor f, puts its
quantum blocks on the named device's noise with every error times f (``hardware/
noise_scale.py``: gate errors, 1/T1 and 1/T2, readout), run exactly by the noisy engine at the
entry's shots (``shots=0``: exact expectation values), and scores the tiles of a data split:

- mIoU per factor with a 95 % interval that resamples whole images (``statistics.bootstrap``,
  grouped by the dataset's own groups, ``tile_scores.tile_images``), and its change from f = 0
  with the paired interval;
- the largest factor whose mIoU is at most ``margin`` (default 0.01, one point) below f = 0's,
  every smaller factor included (point estimates);
- the device's estimated success probability (ESP: gates and readout; beside it with idle
  decoherence) of the model's blocks as the device transpiles them, per factor from the scaled
  calibration, and the approximation ESP(f) = ESP(1)**f (each error e_i -> f e_i in
  prod(1 - e_i)), which places the device (f = 1) and the admissible factor on one scale.

Offline, the device is its entry's fake twin (its calibration snapshot is named in the
output). ``budget.json`` (atomic, strict JSON) and ``budget.png`` go into the run folder.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hq_qiskit.atomic import atomic_write
from hq_qiskit.errors import ConfigError
from hq_qiskit.hardware.backends import Backend, get_backend
from hq_qiskit.hardware.device_noise import snapshot_of
from hq_qiskit.samplers import GridPatches
from hq_qiskit.training.budget_report import figure
from hq_qiskit.training.diagnose import strict
from hq_qiskit.training.loop import resolve_device
from hq_qiskit.training.restore import restore
from hq_qiskit.training.statistics import bootstrap, scores
from hq_qiskit.training.tile_scores import open_split, tile_confusions

Echo = Callable[[str], None]
FACTORS = (0.0, 0.5, 1.0, 2.0, 4.0)
ESP_APPROXIMATION = "ESP(f) ~= ESP(1)**f (prod(1 - f e_i) ~= prod(1 - e_i)**f, small e_i)"


def noisy_entry(name: str) -> Backend:
    """The ``backends.toml`` entry ``name``; ConfigError for one without device noise."""
    entry = get_backend(name)
    if entry.noise is None:
        raise ConfigError(
            f"--backend {name}: an ideal entry has no device noise to scale; name a device "
            "entry with 'noise' (e.g. ibm_kingston, ibm_fez; see hq-qiskit backends)"
        )
    return entry


def refuse_classical(path: Path, name: str, model) -> None:
    """ConfigError in one line for a model without quantum blocks (noise cannot reach it)."""
    if not model.quantum_blocks():
        raise ConfigError(
            f"{path}: model {name!r} ({type(model).__name__}) has no quantum block, so "
            "device noise cannot reach it; run budget on a run with a quantum block"
        )


def admissible(factors: Sequence[float], mious: Sequence[float], margin: float) -> float:
    """The largest factor such that it and every smaller one lose at most ``margin`` mIoU
    against factor 0 (``factors`` sorted, starting at 0)."""
    best = factors[0]
    for f, m in zip(factors, mious, strict=True):
        if not mious[0] - m <= margin + 1e-12:
            break
        best = f
    return best


class _Swapper:
    """Puts a model's quantum blocks on scaled device noise, one factor after another."""

    def __init__(self, model, entry: Backend, seed: int) -> None:
        self.model = model
        self.entry = entry
        self.seed = seed
        self.pairs = list(model.quantum_blocks())
        self.current = [module for _, module in self.pairs]

    def use(self, factor: float) -> None:
        from hq_qiskit.hardware.noisy_block import noisy_module

        for i, (block, ideal) in enumerate(self.pairs):
            new = noisy_module(ideal, block, self.entry, seed=self.seed + i, noise_scale=factor)
            self.model.replace_quantum_module(self.current[i], new)
            self.current[i] = new

    def confusions(
        self, factors: Sequence[float], patches: GridPatches, cfg, dev, echo: Echo
    ) -> dict[float, np.ndarray]:
        """factor -> (T, K, K) per-tile confusion matrices of the model at that scale."""
        cms = {}
        for f in factors:
            self.use(f)
            cms[f] = tile_confusions(
                self.model.to(dev),
                patches,
                len(cfg.class_names),
                cfg.ignore_index,
                dev,
                cfg.batch_size,
            )
            echo(f"  factor {f:g}: mIoU {float(scores(cms[f].sum(0))['miou']):.4f}")
        return cms


def device_esp(entry: Backend, blocks: Sequence, factors: Sequence[float]) -> dict[str, Any]:
    """ESP of the blocks as the device transpiles them (entry's settings): per block at f = 1,
    and the model's (product over blocks) per factor from the scaled calibration."""
    from hq_qiskit.hardware.device_noise import _fake, device_noise
    from hq_qiskit.hardware.idle import esp_with_idle
    from hq_qiskit.hardware.layout import estimated_success_probability
    from hq_qiskit.hardware.noise_scale import scaled_target

    device = _fake(entry.noise)
    mapped = {b.name: device_noise(b, entry).mapped for b in blocks}
    per_block = []
    for name, m in mapped.items():
        per_block.append(
            {
                "block": name,
                "esp": estimated_success_probability(m.circuit, device.target, m.final_layout),
                "esp_idle": esp_with_idle(m.circuit, device.target, m.final_layout),
                "count_2q": sum(1 for i in m.circuit.data if i.operation.num_qubits == 2),
                "swaps": m.swaps,
                "layout": list(m.initial_layout),
            }
        )
    by_factor = {}
    for f in factors:
        target = scaled_target(device.target, f)
        esp = [
            estimated_success_probability(m.circuit, target, m.final_layout)
            for m in mapped.values()
        ]
        idle = [esp_with_idle(m.circuit, target, m.final_layout) for m in mapped.values()]
        by_factor[f] = (float(np.prod(esp)), float(np.prod(idle)))
    return {"blocks": per_block, "by_factor": by_factor}


def other_devices(
    names: Sequence[str], blocks: Sequence, esp1: float, best: float, lower_bound: bool
) -> list[dict[str, Any]]:
    """Other ``backends.toml`` entries on the same curve: the model's ESP as each transpiles
    the blocks (its own level, layout and seed; its fake twin's snapshot), and the factor f at
    which ESP(1)**f of the measured device equals it, f = ln ESP / ln ESP(1)."""
    from hq_qiskit.hardware.device_noise import _fake
    from hq_qiskit.hardware.layout import estimated_success_probability, transpile_block

    out = []
    for name in names:
        entry = noisy_entry(name)
        device = _fake(entry.noise)
        esp = 1.0
        for b in blocks:
            m = transpile_block(
                b.circuit,
                b.observables,
                device.target,
                optimization_level=entry.optimization_level,
                seed=entry.seed_transpiler,
                strategy=entry.layout,
            )
            esp *= estimated_success_probability(m.circuit, device.target, m.final_layout)
        f = math.log(esp) / math.log(esp1) if esp > 0 and 0 < esp1 < 1 else math.nan
        if not math.isfinite(f):
            within = None
        elif f <= best + 1e-12:
            within = True
        else:  # beyond the admissible factor: unknown where every factor tried passed
            within = None if lower_bound else False
        out.append(
            {
                "backend": name,
                "noise_source": f"fake twin {entry.noise}",
                "snapshot": snapshot_of(device),
                "esp": esp,
                "factor_equivalent": f,
                "within_budget": within,
            }
        )
    return out


def _factor_rows(cms: dict[float, np.ndarray], groups, n_boot: int, seed: int) -> list[dict]:
    """Per factor: mIoU and OA of the pooled tiles, the image-bootstrap interval of the mIoU and
    of its change from factor 0 (paired by tile)."""
    base = cms[0.0][None]
    rows = []
    for f, cm in cms.items():
        s = scores(cm.sum(0))
        ci = bootstrap(cm[None], groups=groups, n_boot=n_boot, seed=seed)
        d = bootstrap(cm[None], base, groups=groups, n_boot=n_boot, seed=seed)
        rows.append(
            {
                "factor": f,
                "miou": float(s["miou"]),
                "low": ci.low,
                "high": ci.high,
                "oa": float(s["oa"]),
                "delta": d.estimate,
                "delta_low": d.low,
                "delta_high": d.high,
            }
        )
    return rows


def budget_run(
    path: Path,
    *,
    backend: str,
    data: Path | None = None,
    split: str = "val",
    factors: Sequence[float] = FACTORS,
    shots: int | None = None,
    checkpoint: str | None = None,
    device: str = "auto",
    n_boot: int = 2000,
    margin: float = 0.01,
    devices: Sequence[str] = (),
    echo: Echo = print,
) -> dict[str, Any]:
    """The noise budget of a run (module docstring); writes budget.json and budget.png.

    Args:
        backend: a ``backends.toml`` entry with device noise (e.g. "ibm_kingston").
        factors: error scales; 0 (the reference) is added when absent.
        shots: shots per expectation value; None: the entry's; 0: exact.
        margin: the mIoU an admissible factor may lose against factor 0.
        devices: other entries to place on the curve by their ESP (``other_devices``).
    """
    entry = noisy_entry(backend)
    restored = restore(path, checkpoint=checkpoint, noise="ideal")
    cfg, model = restored.config, restored.model
    refuse_classical(path, cfg.model, model)
    entry = dataclasses.replace(entry, shots=entry.shots if shots is None else int(shots))
    factors = sorted({0.0, *(float(f) for f in factors)})
    source, tiles, patches, groups = open_split(cfg, data, split)
    snapshot = snapshot_of(entry.fake_backend())
    echo(
        f"budget of {restored.checkpoint} under {entry.name}'s noise (offline: its fake twin "
        f"{entry.noise}, snapshot {snapshot}), {entry.shots or 'exact'} shots, on {source} / "
        f"{split}: {len(tiles)} tiles, {len(patches)} patches"
    )
    swapper = _Swapper(model, entry, cfg.seed)
    cms = swapper.confusions(factors, patches, cfg, resolve_device(device), echo)
    rows = _factor_rows(cms, groups, n_boot, cfg.seed)
    blocks = [b for b, _ in swapper.pairs]
    esp = device_esp(entry, blocks, sorted({*factors, 1.0}))
    for row in rows:
        row["esp"], row["esp_idle"] = esp["by_factor"][row["factor"]]
    best = admissible(factors, [r["miou"] for r in rows], margin)
    esp1, idle1 = esp["by_factor"][1.0]
    run = Path(path) if Path(path).is_dir() else restored.checkpoint.parent
    report = {
        "run": str(run),
        "checkpoint": restored.checkpoint.name,
        "model": cfg.model,
        "backend": entry.name,
        "device": entry.device or entry.name,
        "noise_source": f"fake twin {entry.noise} of {entry.device or entry.name} (offline)",
        "snapshot": snapshot,
        "shots": entry.shots,
        "data": source,
        "split": split,
        "tiles": len(tiles),
        "images": int(groups.max()) + 1,
        "patches": len(patches),
        "n_boot": n_boot,
        "margin": margin,
        "factors": rows,
        "admissible_factor": best,
        "admissible_is_lower_bound": best == factors[-1],  # every factor tried passed
        "esp_device": esp1,
        "esp_idle_device": idle1,
        "esp_approximation": ESP_APPROXIMATION,
        "esp_at_admissible": esp1**best,
        "esp_idle_at_admissible": idle1**best,
        "blocks": esp["blocks"],
        "devices": other_devices(devices, blocks, esp1, best, best == factors[-1]),
    }
    report = strict(report)
    atomic_write(run / "budget.json", json.dumps(report, indent=2, allow_nan=False) + "\n")
    figure(report, run / "budget.png")
    return report


def parse_factors(text: str) -> list[float]:
    """'0,0.5,1' -> [0.0, 0.5, 1.0]; ConfigError naming --factors for anything else."""
    from hq_qiskit.hardware.noise_scale import check_factor

    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        values = []
    if not values:
        raise ConfigError(
            f"--factors {text!r}: give comma-separated factors >= 0, e.g. 0,0.5,1,2,4"
        )
    return [check_factor(v, "--factors") for v in values]
