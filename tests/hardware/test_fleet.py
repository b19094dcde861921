"""IBM's fleet as hq-qiskit sees it: the Heron r3 entries and their snapshot dates, the
runtime's caveat on FakeNighthawk passed on (not silenced), retired devices named with the
current ones (offline they still run on their fake twins), and fractional RZZ angles checked
against IBM's (0, pi/2] before anything is submitted."""

from __future__ import annotations

import math

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.circuit import ParameterVector
from qiskit.quantum_info import SparsePauliOp
from qiskit_ibm_runtime.fake_provider.local_service import QiskitRuntimeLocalService

from hq_qiskit.errors import ConfigError
from hq_qiskit.hardware.backends import fake_backend, get_backend
from hq_qiskit.hardware.estimator import parameter_array
from hq_qiskit.hardware.fleet import RETIRED, current_devices, rzz_out_of_range
from hq_qiskit.hardware.kinds import report_target
from hq_qiskit.hardware.layout import transpile_block
from hq_qiskit.hardware.runtime import resolve

NIGHTHAWK = "Properties of fake_nighthawk are not intended to represent typical nighthawk error"


@pytest.fixture(autouse=True)
def no_account(monkeypatch, tmp_path):
    monkeypatch.delenv("QISKIT_IBM_TOKEN", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


@pytest.mark.parametrize("device", ["ibm_boston", "ibm_pittsburgh", "ibm_aachen"])
def test_heron_r3_entries_carry_their_fake_twins_snapshot(device):
    entry = get_backend(device)
    fake = fake_backend(entry.noise)
    assert entry.device == device and fake.name == device.replace("ibm_", "fake_")
    assert fake.configuration().processor_type == {"family": "Heron", "revision": "3"}
    date = str(fake.properties().last_update_date)[:10]
    assert f"Heron r3, {fake.num_qubits} qubits" in entry.description
    assert f"snapshot {date})" in entry.description
    assert device in current_devices()


def test_nighthawks_caveat_is_passed_on_by_run_and_report():
    with pytest.warns(UserWarning, match="not intended to represent"):  # not silenced
        target = resolve(get_backend("fake_nighthawk"))
    assert f"qiskit-ibm-runtime warns: {NIGHTHAWK}" in target.note
    # the runtime itself warns once per process; every later build repeats it (in the full
    # suite an earlier test had built FakeNighthawk, and this test saw no warning)
    with pytest.warns(UserWarning, match="not intended to represent"):
        fake_backend("FakeNighthawk")
    assert NIGHTHAWK in report_target(get_backend("fake_nighthawk")).note
    assert "warns" not in resolve(get_backend("fake_brisbane")).note


def test_retired_devices_are_named_with_the_current_ones():
    offline = resolve(get_backend("ibm_brisbane"))  # as typed, offline: its fake twin
    assert offline.local and offline.backend.name == "fake_brisbane"
    assert "ibm_brisbane is retired" in offline.note and "ibm_boston" in offline.note
    assert not set(RETIRED) & set(current_devices())
    with pytest.raises(ConfigError, match="has been retired \\(current devices: ibm_aachen"):
        resolve(get_backend("ibm_brisbane"), service=QiskitRuntimeLocalService())
    assert "retired" not in resolve(get_backend("ibm_fez")).note


def test_fractional_rzz_angles_outside_ibms_range_are_found():
    x = ParameterVector("x", 2)
    qc = QuantumCircuit(3)
    qc.rzz(x[0], 0, 1)
    qc.rzz(x[1], 1, 2)
    obs = [SparsePauliOp("IIZ")]
    target = fake_backend("FakeFractionalBackend").target
    mapped = transpile_block(qc, obs, target, optimization_level=1, strategy="preset")
    assert "rzz" in mapped.circuit.count_ops()
    xs = np.array([[0.3, 1.2], [0.5, math.pi / 2], [0.4, 2.0], [-0.1, 0.2]])
    values = parameter_array(mapped, {x[0]: xs[:, 0], x[1]: xs[:, 1]})
    angle, sample = rzz_out_of_range(mapped, values)  # the first RZZ's angles come first
    assert sample == 3 and angle == pytest.approx(-0.1)
    angle, sample = rzz_out_of_range(mapped, values[:3])
    assert sample == 2 and angle == pytest.approx(2.0)
    assert rzz_out_of_range(mapped, values[:2]) is None  # pi/2 itself is accepted
    plain = transpile_block(qc, obs, fake_backend("FakeFez").target, optimization_level=1,
                            strategy="preset")  # fmt: skip
    assert rzz_out_of_range(plain, parameter_array(plain, {x[0]: xs[:, 0], x[1]: xs[:, 1]})) is None


def test_a_stray_warning_during_a_build_is_not_the_fakes_caveat():
    """In the full suite a ResourceWarning of a file object collected while FakeBrisbane was
    built landed in its caveats, and every Brisbane note then said 'qiskit-ibm-runtime warns:
    unclosed file'. Only the runtime's own warnings are caveats."""
    import warnings

    from hq_qiskit.hardware.backends import CAVEATS, record_caveats

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.warn("unclosed file <_io.FileIO name='x.npz'>", ResourceWarning, stacklevel=1)
    record_caveats("FakeBrisbane", caught)
    assert len(caught) == 1 and "stray" not in str(CAVEATS.get("FakeBrisbane"))
    assert not any("unclosed" in m for m in CAVEATS.get("FakeBrisbane", []))
    assert "warns" not in resolve(get_backend("fake_brisbane")).note
