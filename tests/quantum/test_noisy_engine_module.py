"""The exact noisy engine as a torch module: the conventions it shares with the fast engine
(``hq_qiskit/quantum/module.py``): dtype and device follow the weight, copies and pickles keep
the weight and the shot generator, half precision is refused."""

from __future__ import annotations

import copy
import pickle

import pytest
import torch
from qiskit_aer.noise import NoiseModel, ReadoutError, depolarizing_error

from hq_qiskit.circuits import enrichment_qcnn
from hq_qiskit.quantum import connect_block
from hq_qiskit.quantum.fast import FastEngine
from hq_qiskit.quantum.module import EngineModule
from hq_qiskit.quantum.noisy import NoisyEngine

# The fast engine's module tests, run here on this file's noisy ``engine`` and ``x`` fixtures
from .test_fast_engine_module import (  # noqa: F401
    test_autocast_does_not_lower_precision,
    test_deepcopy_is_independent,
    test_double_and_float_follow_the_weight,
    test_half_precision_is_a_clear_error,
    test_inputs_on_another_device_are_named,
    test_pickle_and_torch_save_round_trip,
    test_to_dtype_and_gradients_in_float64,
)


def _noise() -> NoiseModel:
    nm = NoiseModel()
    nm.add_all_qubit_quantum_error(depolarizing_error(0.02, 2), ["cx"])
    nm.add_readout_error(ReadoutError([[0.97, 0.03], [0.05, 0.95]]), [2])
    return nm


@pytest.fixture(name="engine")
def _engine() -> NoisyEngine:
    w = torch.linspace(-2, 2, enrichment_qcnn().n_weights)
    return connect_block(enrichment_qcnn(), noise=_noise(), initial_weights=w)


@pytest.fixture(name="x")
def _x() -> torch.Tensor:
    return torch.rand(3, 48, generator=torch.Generator().manual_seed(1)) * 2 - 1


def test_both_engines_share_one_module_base() -> None:
    assert issubclass(NoisyEngine, EngineModule) and issubclass(FastEngine, EngineModule)


def test_noisy_state_dict_deepcopy_and_pickle(engine, x) -> None:
    before = engine(x)  # fills the constant cache
    assert list(engine.state_dict()) == ["weight"]
    twin = copy.deepcopy(engine)
    assert twin._constants == {}
    torch.testing.assert_close(twin(x), before)
    with torch.no_grad():
        twin.weight.add_(0.5)
    torch.testing.assert_close(engine(x), before)
    restored = pickle.loads(pickle.dumps(engine))
    torch.testing.assert_close(restored(x), before)
    other = connect_block(enrichment_qcnn(), noise=_noise(), dtype=torch.float64)
    other.load_state_dict(engine.state_dict())
    torch.testing.assert_close(other(x).float(), before, atol=1e-5, rtol=0)


def test_pickled_shot_generator_continues_the_same_draws(x) -> None:
    engine = connect_block(enrichment_qcnn(), noise=_noise(), shots=64, seed=3)
    engine(x)
    twin = pickle.loads(pickle.dumps(engine))
    torch.testing.assert_close(twin(x), engine(x), atol=0, rtol=0)


def test_float32_outputs_stay_float32_under_bfloat16_autocast(engine, x) -> None:
    want = engine(x)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        got = engine(x)
    assert got.dtype == torch.float32
    torch.testing.assert_close(got, want, atol=1e-6, rtol=0)
