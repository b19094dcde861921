"""Second derivatives through adjoint differentiation are exact (issue 24, item 3).

Before, the adjoint backward was marked ``once_differentiable`` and a double backward
(``torch.autograd.grad(..., create_graph=True)`` then a second ``grad``) returned wrong values
without an error. Here the Hessian rows from a double backward are checked against central
finite differences of the first gradient and against the autograd route.
"""

from __future__ import annotations

import pytest
import torch

from hq_qiskit.quantum import connect

STEP = 1e-5


def _gradient(module, x: torch.Tensor, create_graph: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """d(sum of outputs)/d(weight, x), (n_w,) and (B, n_in)."""
    x = x.detach().clone().requires_grad_(True)
    out = module(x)
    loss = (out * torch.linspace(0.5, 1.5, out.shape[1], dtype=out.dtype)).sum()
    gw, gx = torch.autograd.grad(loss, [module.weight, x], create_graph=create_graph)
    return gw, gx


@pytest.mark.parametrize("seed", [3, 11])
def test_double_backward_on_the_adjoint_route_equals_finite_differences(
    seed: int, make_random_circuit
) -> None:
    qc, xp, wp, observables = make_random_circuit(4, 24, seed)
    gen = torch.Generator().manual_seed(seed)
    w0 = torch.rand(len(wp), generator=gen, dtype=torch.float64) * 6 - 3
    x0 = torch.rand(2, len(xp), generator=gen, dtype=torch.float64) * 6 - 3
    kwargs = {"dtype": torch.float64, "initial_weights": w0, "route": "cut"}
    adjoint = connect(qc, list(xp), list(wp), observables, gradient="adjoint", **kwargs)
    assert adjoint.adjoint, "the circuit must run some groups by adjoint differentiation"
    autograd = connect(qc, list(xp), list(wp), observables, gradient="autograd", **kwargs)

    gw, gx = _gradient(adjoint, x0, create_graph=True)
    # Hessian of the loss in the weights, and the mixed block d2/dw dx, by a double backward
    hess_w = torch.stack([torch.autograd.grad(gw[i], adjoint.weight, retain_graph=True)[0]
                          for i in range(len(w0))])  # fmt: skip
    mixed = torch.autograd.grad(gx.sum(), adjoint.weight)[0]  # d/dw of sum over x-gradient
    # finite differences of the exact first gradient (autograd route, no create_graph)
    fd_w = torch.zeros_like(hess_w)
    fd_mixed = torch.zeros_like(mixed)
    for i in range(len(w0)):
        grads = []
        for sign in (1.0, -1.0):
            with torch.no_grad():
                autograd.weight.copy_(w0)
                autograd.weight[i] += sign * STEP
            grads.append(_gradient(autograd, x0, create_graph=False))
        fd_w[i] = (grads[0][0] - grads[1][0]) / (2 * STEP)
        fd_mixed[i] = (grads[0][1].sum() - grads[1][1].sum()) / (2 * STEP)
    torch.testing.assert_close(hess_w, fd_w, atol=1e-6, rtol=1e-6)
    torch.testing.assert_close(mixed, fd_mixed, atol=1e-6, rtol=1e-6)

    with torch.no_grad():
        autograd.weight.copy_(w0)
    gw_ref, _ = _gradient(autograd, x0, create_graph=True)
    hess_ref = torch.stack([torch.autograd.grad(gw_ref[i], autograd.weight, retain_graph=True)[0]
                            for i in range(len(w0))])  # fmt: skip
    torch.testing.assert_close(hess_w, hess_ref, atol=1e-10, rtol=1e-10)


def test_first_derivatives_keep_no_graph_on_the_adjoint_route(make_random_circuit) -> None:
    """Without create_graph the adjoint backward records nothing: gradients are leaves."""
    qc, xp, wp, observables = make_random_circuit(4, 16, 5)
    module = connect(qc, list(xp), list(wp), observables, gradient="adjoint", dtype=torch.float64)
    gw, gx = _gradient(module, torch.rand(3, len(xp), dtype=torch.float64), create_graph=False)
    assert gw.grad_fn is None and gx.grad_fn is None
