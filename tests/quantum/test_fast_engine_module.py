"""The fast engine as a torch module: dtype and device follow its weight, copies and pickles."""

from __future__ import annotations

import copy
import io
import pickle

import pytest
import torch

from hq_qiskit.circuits import enrichment_qcnn
from hq_qiskit.errors import ConfigError
from hq_qiskit.quantum import connect_block
from hq_qiskit.quantum.fast import FastEngine


@pytest.fixture(name="engine")
def _engine() -> FastEngine:
    torch.manual_seed(0)
    return connect_block(enrichment_qcnn())


@pytest.fixture(name="x")
def _x() -> torch.Tensor:
    return torch.rand(3, 48, generator=torch.Generator().manual_seed(1)) * 2 - 1


def test_double_and_float_follow_the_weight(engine, x) -> None:
    single = engine(x)
    assert single.dtype == torch.float32
    engine.double()
    assert engine.weight.dtype == torch.float64 and engine.real_dtype == torch.float64
    double = engine(x)  # float32 inputs are cast to the weight's dtype
    assert double.dtype == torch.float64
    torch.testing.assert_close(double.float(), single, atol=1e-5, rtol=0)
    engine.float()
    assert engine(x.double()).dtype == torch.float32


def test_to_dtype_and_gradients_in_float64(engine, x) -> None:
    engine.to(torch.float64)
    xd = x.double().requires_grad_(True)
    engine(xd).sum().backward()
    assert xd.grad.dtype == torch.float64
    assert engine.weight.grad.dtype == torch.float64 and engine.weight.grad.abs().sum() > 0


def test_state_dict_round_trip_across_dtypes(engine, x) -> None:
    state = engine.state_dict()
    assert list(state) == ["weight"]  # cached constants are not state
    torch.manual_seed(5)
    other = connect_block(enrichment_qcnn(), dtype=torch.float64)
    assert not torch.allclose(other(x).float(), engine(x))
    other.load_state_dict(state)
    assert other.weight.dtype == torch.float64  # load copies into the existing parameter
    torch.testing.assert_close(other(x).float(), engine(x), atol=1e-5, rtol=0)


def test_deepcopy_is_independent(engine, x) -> None:
    before = engine(x)  # fills the constant cache
    twin = copy.deepcopy(engine)
    torch.testing.assert_close(twin(x), before)
    with torch.no_grad():
        twin.weight.add_(0.5)
    torch.testing.assert_close(engine(x), before)
    assert not torch.allclose(twin(x), before)
    twin.double()
    assert engine.weight.dtype == torch.float32 and twin(x).dtype == torch.float64


def test_pickle_and_torch_save_round_trip(engine, x) -> None:
    before = engine(x)
    restored = pickle.loads(pickle.dumps(engine))
    torch.testing.assert_close(restored(x), before)
    buffer = io.BytesIO()
    torch.save(engine, buffer)
    buffer.seek(0)
    loaded = torch.load(buffer, weights_only=False)
    torch.testing.assert_close(loaded(x), before)
    assert loaded._constants is not engine._constants


def test_half_precision_is_a_clear_error(engine, x) -> None:
    engine.half()
    with pytest.raises(ConfigError, match="float32 or float64.*not torch.float16"):
        engine(x.half())
    with pytest.raises(ConfigError, match="bfloat16"):
        connect_block(enrichment_qcnn(), dtype=torch.bfloat16)


def test_autocast_does_not_lower_precision(engine, x) -> None:
    engine.double()
    want = engine(x)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        got = engine(x)
    assert got.dtype == torch.float64
    torch.testing.assert_close(got, want, atol=1e-12, rtol=0)


def test_inputs_on_another_device_are_named(engine) -> None:
    x = torch.zeros(2, 48, device="meta")
    with pytest.raises(ValueError, match="inputs are on meta but the engine's weight is on cpu"):
        engine(x)
