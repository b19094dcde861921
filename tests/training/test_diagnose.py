"""``diagnose_model`` on toy networks whose answer is known, on real built-in tiles.

The toy reads a patch's mean colour, maps it to 12 angles, runs a real 4-qubit enrichment
QCNN (the fast engine, checked against Aer elsewhere) and turns its 8 outputs into one class
per patch. The masks are written from the toy's own predictions, so as trained it scores
mIoU 1.0 exactly: a block the output depends on must show a large change when replaced, and
a block whose output is computed but cut off must show none.
"""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import Tensor, nn

from hq_qiskit.circuits import enrichment_qcnn
from hq_qiskit.datasets import LOVEDA_TO_LANDCOVERAI, builtin_data_dir, open_tiles
from hq_qiskit.quantum.connect import connect_block
from hq_qiskit.samplers import GridPatches
from hq_qiskit.training.diagnose import diagnose_model
from hq_qiskit.training.interventions import find_sites, output_spread
from hq_qiskit.training.tile_scores import tile_images

TILES = ["1_0", "1_1", "3_0", "3_1"]  # two LoveDA images, two quadrants each
PATCH = 128  # 16 patches per 512-px tile
RAW_OF_CLASS = {c: raw for raw, c in sorted(LOVEDA_TO_LANDCOVERAI.items(), reverse=True)}


class Toy(nn.Module):
    """Patch mean colour -> 12 angles -> QCNN (8 outputs) -> class logits, same for every pixel;
    ``cut`` ignores the QCNN's output (logits from the colour alone)."""

    def __init__(self, cut: bool = False) -> None:
        super().__init__()
        torch.manual_seed(3)
        self.pre = nn.Linear(3, 12)
        self.qcnn = connect_block(enrichment_qcnn(rows=2, cols=2, layers=1))
        self.head = nn.Linear(8, 5)
        self.colour_head = nn.Linear(3, 5)
        self.cut = cut
        self.scale = nn.Parameter(torch.ones(8), requires_grad=False)
        self.centre = nn.Parameter(torch.zeros(8), requires_grad=False)

    def forward(self, x: Tensor) -> Tensor:
        colour = x.mean((2, 3))  # (B, 3)
        q = self.qcnn(torch.tanh(3 * self.pre(colour)))  # (B, 8)
        if self.cut:
            logits = self.colour_head(colour)
        else:
            logits = self.head((q - self.centre) * self.scale)  # (B, 5)
        return logits[:, :, None, None].expand(-1, -1, *x.shape[2:])


def write_folder(root: Path, labels: dict[str, np.ndarray] | None) -> Path:
    """A LoveDA folder of the 4 tiles; masks: one class per 128-px patch (``labels`` (4, 4)
    per tile) or all background."""
    src = builtin_data_dir()
    for sub in ("images_png", "masks_png"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    for t in TILES:
        image = next((src / "images_png").glob(f"{t}.*"))
        shutil.copy(image, root / "images_png" / image.name)
        cls = labels[t] if labels is not None else np.zeros((4, 4), dtype=int)
        raw = np.vectorize(RAW_OF_CLASS.__getitem__)(
            np.kron(cls, np.ones((PATCH, PATCH), dtype=int))
        )
        Image.fromarray(raw.astype(np.uint8)).save(root / "masks_png" / f"{t}.png")
    (root / "all.txt").write_text("\n".join(TILES) + "\n")
    return root


def patches_of(root: Path) -> GridPatches:
    return GridPatches(open_tiles(root, "all"), PATCH, PATCH, mean=[100.0] * 3, std=[50.0] * 3)


@pytest.fixture(scope="module")
def fitted(tmp_path_factory) -> tuple[GridPatches, Toy]:
    """The toy with its outputs standardised over the data, and a folder of its own labels."""
    root = tmp_path_factory.mktemp("toy")
    model = Toy().eval()
    patches = patches_of(write_folder(root, None))
    x = torch.stack([patches[i][0] for i in range(len(patches))])
    with torch.no_grad():
        q = model.qcnn(torch.tanh(3 * model.pre(x.mean((2, 3)))))
        model.centre.copy_(q.mean(0))
        model.scale.copy_(10 / q.std(0).clamp_min(1e-6))
        pred = model(x)[:, :, 0, 0].argmax(1).numpy()  # (64,): tile-major, row-major patches
    assert len(np.unique(pred)) >= 3  # the labels carry the block's variation
    labels = {t: pred[16 * i : 16 * (i + 1)].reshape(4, 4) for i, t in enumerate(TILES)}
    return patches_of(write_folder(root / "labelled", labels)), model


def run(model: nn.Module, patches: GridPatches) -> dict:
    return diagnose_model(
        model,
        copy.deepcopy(model),
        patches,
        tile_images(patches.tiles),
        num_classes=5,
        ignore_index=255,
        device=torch.device("cpu"),
        batch_size=16,
        n_boot=200,
    )


def test_a_block_the_output_depends_on_shows_a_large_change(fitted):
    patches, model = fitted
    report = run(model, patches)
    assert report["miou"] == 1.0 and report["images"] == 2 and report["tiles"] == 4
    (block,) = report["blocks"]
    assert block["name"] == "qcnn" and block["kind"] == "quantum"
    for kind in ("mean", "shuffle", "zero"):
        change = block["interventions"][kind]
        assert change["delta"] < -0.3, kind
        assert change["high"] < 0, kind  # the whole interval below 0
    assert block["parameters_moved"] == {"n": 8, "max_abs": 0.0, "rms": 0.0}
    assert block["grad_ratio"] > 0
    assert 1 < block["outputs"]["effective_rank"] <= 8 and block["outputs"]["dims"] == 8


def test_a_block_that_is_cut_off_shows_no_change(fitted):
    patches, model = fitted
    cut = copy.deepcopy(model)
    cut.cut = True
    (block,) = run(cut, patches)["blocks"]
    for kind in ("mean", "shuffle", "zero"):
        assert block["interventions"][kind] | {"miou": 0} == {
            "miou": 0,
            "delta": 0.0,
            "low": 0.0,
            "high": 0.0,
        }
    assert block["grad_ratio"] is None  # no gradient reaches its angles at all


def test_quadrants_group_by_image_and_the_spread_reads_the_outputs():
    tiles = open_tiles(builtin_data_dir(), "train")
    images = tile_images(tiles)
    assert images[:5] == ["0", "0", "0", "0", "1"]  # every quadrant of images 0, 1, ...
    assert len(set(images)) == 20 and len(images) == 80
    assert output_spread(torch.ones(10, 4))["effective_rank"] == 0.0
    line = torch.arange(10.0)[:, None] * torch.tensor([[1.0, 2.0, 0.0]])
    assert output_spread(line)["effective_rank"] == pytest.approx(1.0)
    assert output_spread(torch.randn(500, 3, generator=torch.Generator().manual_seed(0)))[
        "effective_rank"
    ] == pytest.approx(3.0, abs=0.1)


def test_sites_are_the_quantum_modules_else_a_classical_twins_core():
    from hq_qiskit.models import build_model

    quantum = build_model("hq-unet", {"width": 4, "depth": 2, "patch_px": 32})
    assert [(s.name, s.quantum) for s in find_sites(quantum)] == [("bottleneck.core", True)]
    twin = build_model(
        "hq-unet", {"width": 4, "depth": 2, "patch_px": 32, "bottleneck": "classical"}
    )
    assert [(s.name, s.quantum) for s in find_sites(twin)] == [("bottleneck.core", False)]
    none = build_model("hq-unet", {"width": 4, "depth": 2, "patch_px": 32, "bottleneck": "none"})
    assert find_sites(none) == []


def test_dubai_tiles_resample_by_region_not_by_image():
    """A Dubai region (tile_N) is the unit the README says to keep whole; the tile-id rule
    would have made each image its own unit."""
    from pathlib import Path

    dubai = open_tiles(Path(__file__).parents[1] / "data" / "dubai", "all")
    images = tile_images(dubai)
    assert set(images) == set(dubai.groups) and all(g.startswith("tile_") for g in images)
    assert len(set(images)) < len({i.rsplit("_", 1)[0] for i in dubai.ids})
