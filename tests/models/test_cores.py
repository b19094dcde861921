"""The matched cores of the bottleneck ablation: each maps the bottleneck's (B, 3n) input to
the circuit's (B, 2n) output with the parameter count docs/design.md states, and the circuit
without its entanglers is the same circuit's single-qubit part, checked against real Aer."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hq_qiskit.circuits import enrichment_qcnn
from hq_qiskit.circuits.product import without_entanglers
from hq_qiskit.models import HQUNet
from hq_qiskit.models.cores import CosSinSurrogate, SharedMLP, macs_hidden, mlp_hidden
from hq_qiskit.models.hq_unet import build_core
from hq_qiskit.quantum import connect_block
from hq_qiskit.quantum.qiskit_engine import reference_expectations

CORES = ("quantum", "product", "surrogate", "mlp", "mlp-macs", "classical", "classical-small",
         "none")  # fmt: skip
# trainable numbers of each core on the 4x4 grid, one QCNN layer (docs/design.md)
PARAMS = {"quantum": 8, "product": 8, "surrogate": 8, "mlp": 8, "mlp-macs": 6 * 371 + 2,
          "classical": 48 * 32 + 32, "classical-small": 8, "none": 0}  # fmt: skip


def trainable(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


@pytest.mark.parametrize("name", CORES)
@pytest.mark.parametrize("grid", [(4, 4), (2, 4)])
def test_each_core_maps_the_bottleneck_input_to_the_circuits_output(name, grid):
    torch.manual_seed(0)
    core, block = build_core(name, grid, 1, np.pi, "fast", False)
    n = grid[0] * grid[1]
    out = core(torch.rand(4, 3 * n) * 2 - 1)
    assert out.shape == (4, 0 if name == "none" else 2 * n)
    assert (out.abs() <= 1).all()  # the circuit's range: expectation values, tanh
    assert (block is not None) == (name in ("quantum", "product"))
    if grid == (4, 4):
        assert trainable(core) == PARAMS[name], name


def test_frozen_random_circuit_trains_no_number():
    core, block = build_core("quantum", (4, 4), 1, np.pi, "fast", True)
    assert trainable(core) == 0 and block.n_weights == 8


def test_mlp_is_matched_for_other_angle_counts_from_below():
    assert mlp_hidden(8) == 1 and mlp_hidden(16) == 2 and mlp_hidden(20) == 3
    assert trainable(SharedMLP(16)) == 14 <= 16


def test_mlp_macs_costs_the_engines_multiply_adds_per_sample():
    engine = connect_block(enrichment_qcnn(rows=4, cols=4, layers=1), engine="fast")
    real = 4 * engine.complex_macs_per_sample()  # 4 real multiply-adds per complex one
    assert real == pytest.approx(4 * 7424)  # the plan of docs/design.md's table
    core, _ = build_core("mlp-macs", (4, 4), 1, np.pi, "fast", False)
    hidden = core.net[0].out_features
    assert hidden == macs_hidden(real, 16) == 371
    assert 16 * (3 * hidden + 2 * hidden) == pytest.approx(real, rel=0.01)  # weights applied


def test_mlp_mixes_no_qubits_and_puts_z_then_x():
    mlp = SharedMLP(8)
    x = torch.rand(1, 48) * 2 - 1
    y = x.clone()
    y[0, [5, 16 + 5, 32 + 5]] += 0.5  # qubit 5's three inputs
    changed = (mlp(x) - mlp(y)).abs()[0] > 0
    assert changed.nonzero().flatten().tolist() == [5, 16 + 5]


def test_surrogate_reads_only_cos_and_sin_of_the_encoding_angles():
    torch.manual_seed(1)
    s = CosSinSurrogate(8)
    x = torch.rand(3, 48) * 2 - 1
    # x and x + 2 give the same angles modulo 2 pi (angle_scale pi): the same features
    torch.testing.assert_close(s(x), s(x + 2), atol=1e-5, rtol=0)
    assert s.projection.shape == (32, 96)


def test_the_product_circuit_is_the_same_circuit_without_two_qubit_gates():
    block = enrichment_qcnn()
    product = without_entanglers(block)
    assert all(inst.operation.num_qubits == 1 for inst in product.circuit.data)
    kept = [i for i in block.circuit.data if i.operation.num_qubits == 1]
    assert [i.operation.name for i in product.circuit.data] == [i.operation.name for i in kept]
    assert product.inputs is block.inputs and product.weights is block.weights
    assert product.observables == block.observables
    assert block.circuit.count_ops()["cx"] == 24  # the source keeps its entanglers


def test_the_product_circuit_on_the_fast_engine_agrees_with_aer():
    product = without_entanglers(enrichment_qcnn())
    rng = np.random.default_rng(5)
    x, w = rng.uniform(-1, 1, (3, 48)), rng.uniform(-np.pi, np.pi, 8)
    module = connect_block(product, dtype=torch.float64, initial_weights=torch.tensor(w))
    got = module(torch.tensor(x)).detach().numpy()
    want = reference_expectations(
        product.circuit, product.inputs, product.weights, product.observables, x, w
    )
    np.testing.assert_allclose(got, want, atol=1e-10, rtol=0)
    # a product state: <Z_q> depends on qubit q's inputs only (not so with the CNOTs)
    x2 = x.copy()
    x2[:, 0] += 0.3  # qubit 0's RX input
    moved = np.abs(module(torch.tensor(x2)).detach().numpy() - got).max(axis=0) > 1e-9
    assert moved.nonzero()[0].tolist() == [0, 16]
    full = connect_block(enrichment_qcnn(), dtype=torch.float64, initial_weights=torch.tensor(w))
    diff = full(torch.tensor(x2)).detach() - full(torch.tensor(x)).detach()
    assert (diff.abs().max(dim=0).values > 1e-9).sum() > 2


def test_model_counts_match_the_core_counts():
    tiny = {"width": 4, "depth": 2, "patch_px": 32}
    counts = {}
    for name in CORES:
        torch.manual_seed(0)
        counts[name] = HQUNet(**tiny, bottleneck=name).parameter_counts()
    q = counts["quantum"]
    assert counts["product"] == q  # same circuit angles, same classical layers
    for name in ("surrogate", "mlp", "classical-small"):
        assert counts[name] == {"classical": q["classical"] + 8, "quantum": 0}, name
