"""Both ways of building a stack's matrices (``fast/stacks.py``) give the same matrices.

The product way (one ``index_select`` of every step's embedding, a tree of batched products)
must equal the step-by-step way, which applies each gate to the matrix's rows, in values and
in gradients for inputs and weights, on every stack it takes: weight-only stacks of 2-4
qubits (the enrichment QCNN's filters, random circuits) and batched stacks of 1-2 qubits.
"""

from __future__ import annotations

import pytest
import torch

from hq_qiskit.circuits import enrichment_qcnn
from hq_qiskit.quantum.fast.engine import FastEngine
from hq_qiskit.quantum.fast.stacks import product_tables, stack_matrices, step_by_step


def _engines(make_random_circuit) -> list[FastEngine]:
    block = enrichment_qcnn(rows=3, cols=4)
    engines = [FastEngine(block.circuit, block.inputs, block.weights, block.observables,
                          dtype=torch.float64)]  # fmt: skip
    for seed in range(6):
        qc, x, w, obs = make_random_circuit(4, 30, seed)
        engines.append(FastEngine(qc, x, w, obs, dtype=torch.float64))
    return engines


def _both_ways(engine: FastEngine, x: torch.Tensor, s: int) -> tuple[torch.Tensor, torch.Tensor]:
    stack, device = engine.stacks[s], torch.device("cpu")
    consts = engine._consts(device, torch.float64)
    angles_u = consts["const"] + consts["a_w"] @ engine.weight  # (P,)
    angles_b = x @ consts["a_in"].T + angles_u  # (B, P)
    slots = [torch.as_tensor(step.slots) for step in stack.steps]
    tables = product_tables(stack, device)
    product = stack_matrices(stack, angles_b, angles_u, consts["coef"], tables)
    steps = step_by_step(stack, angles_b, angles_u, consts["coef"], slots)
    return product, steps


def test_product_equals_step_by_step(make_random_circuit) -> None:
    taken = {"weights": 0, "batched": 0}
    for engine in _engines(make_random_circuit):
        torch.manual_seed(0)
        with torch.no_grad():
            engine.weight.uniform_(-3, 3)
        for s, stack in enumerate(engine.stacks):
            if not stack.product:
                continue
            taken["batched" if stack.batched else "weights"] += 1
            x = torch.rand(3, engine.n_inputs, dtype=torch.float64, requires_grad=True)
            product, steps = _both_ways(engine, x, s)
            assert product.shape == steps.expand_as(product).shape
            torch.testing.assert_close(product, steps.expand_as(product), rtol=0, atol=1e-12)
            if not product.requires_grad:  # constant gates only
                continue
            probe = torch.randn(product.shape, dtype=product.dtype)
            grads = [
                torch.autograd.grad(
                    (m * probe).real.sum(), [x, engine.weight], allow_unused=True, retain_graph=True
                )  # fmt: skip
                for m in (product, steps.expand_as(product))
            ]
            for a, b in zip(*grads, strict=True):
                if a is None or b is None:
                    assert a is None and b is None or torch.all((a if b is None else b) == 0)
                    continue
                torch.testing.assert_close(a, b, rtol=0, atol=1e-10)
    assert taken["weights"] >= 2 and taken["batched"] >= 2  # both kinds were compared


@pytest.mark.parametrize("rows, cols", [(4, 4), (2, 3)])
def test_enrichment_filters_are_built_as_products(rows: int, cols: int) -> None:
    block = enrichment_qcnn(rows=rows, cols=cols)
    engine = FastEngine(block.circuit, block.inputs, block.weights, block.observables)
    filters = [s for s in engine.stacks if s.num_qubits == cols or s.num_qubits == rows]
    assert filters and all(s.product and not s.batched for s in filters if s.num_qubits > 1)
