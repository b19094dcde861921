"""Every error of a device, scaled by one factor: the knob of the noise budget.

``scaled_device(device, f)`` is a (fake) backend whose calibration data are the device's with
every error scaled by ``f``; ``device_noise.device_noise(..., noise_scale=f)`` builds the
block's noise model from it exactly as from the device itself, on the device's own layout,
routing, schedule and native-gate translation (none is redone on the scaled data), so the exact
noisy engine runs the scaled model exactly. What is scaled:

- gate errors: each native gate's calibrated error e (its average infidelity) becomes f * e;
  Aer's ``from_backend`` rule fits the depolarising part to what relaxation leaves of it, so
  the depolarising probability scales by f to first order (exactly where relaxation is off);
- relaxation: the rates 1/T1 and 1/T2 scale by f (T1 and T2 divided by f; f = 0: none), over
  gates and idle windows alike (durations are the device's);
- readout: P(1|0) and P(0|1) of each qubit (and the target's ``measure`` error) times f,
  capped at 0.5.

f = 1 gives the device's own numbers bit for bit; f = 0 gives a model without any error.
"""

from __future__ import annotations

import copy
import math

from qiskit.transpiler import InstructionProperties, QubitProperties, Target

from hq_qiskit.errors import ConfigError
from hq_qiskit.hardware.native_errors import NativeErrors

READOUT = ("prob_meas1_prep0", "prob_meas0_prep1")
READOUT_CAP = 0.5


def check_factor(f: float, where: str = "noise_scale") -> float:
    """``f`` as a float; ConfigError for a negative or non-finite factor."""
    f = float(f)
    if not math.isfinite(f) or f < 0:
        raise ConfigError(f"{where} {f}: give a finite factor >= 0 (0: no noise, 1: the device)")
    return f


def scaled_target(target: Target, f: float) -> Target:
    """A copy of ``target`` with every instruction error times ``f`` (``measure`` capped at
    0.5) and every qubit's T1, T2 divided by ``f`` (infinite at f = 0); durations kept."""
    f = check_factor(f)
    out = copy.deepcopy(target)
    for name in out.operation_names:
        props = out[name]
        if props is None:
            continue
        for qargs, p in list(props.items()):
            if p is None or p.error is None:
                continue
            error = p.error * f
            if name == "measure":
                error = min(error, READOUT_CAP)
            out.update_instruction_properties(
                name, qargs, InstructionProperties(duration=p.duration, error=error)
            )
    if out.qubit_properties is not None:
        out.qubit_properties = [_scaled_qubit(qp, f) for qp in out.qubit_properties]
    return out


def _scaled_qubit(qp: QubitProperties | None, f: float) -> QubitProperties | None:
    if qp is None:
        return None

    def slower(t: float | None) -> float | None:
        if t is None:
            return None
        return math.inf if f == 0 else t / f

    return QubitProperties(t1=slower(qp.t1), t2=slower(qp.t2), frequency=qp.frequency)


class _ScaledProperties:
    """A backend's ``BackendProperties`` with the readout probabilities times f (capped)."""

    def __init__(self, props, f: float) -> None:
        self._props = props
        self._f = f

    def qubit_property(self, qubit: int, name: str | None = None):
        value = self._props.qubit_property(qubit, name)
        if name in READOUT:
            p, date = value
            return min(float(p) * self._f, READOUT_CAP), date
        return value

    def __getattr__(self, attr: str):
        return getattr(self._props, attr)


class ScaledDevice:
    """A (fake) backend with every error scaled by ``factor`` (module docstring).

    Attributes:
        device: the backend scaled; ``name`` and ``backend_version`` are its own, so the
            snapshot a result names is the device's.
        factor: the scale f.
        target: the scaled target.
    """

    def __init__(self, device, factor: float) -> None:
        self.device = device
        self.factor = check_factor(factor)
        self.name = device.name
        self.backend_version = getattr(device, "backend_version", "")
        self.target = scaled_target(device.target, self.factor)

    def properties(self):
        props = device_properties(self.device)
        return None if props is None else _ScaledProperties(props, self.factor)


def device_properties(device):
    """The backend's ``properties()``, or None where it has none."""
    return device.properties() if callable(getattr(device, "properties", None)) else None


def scaled_device(device, factor: float) -> ScaledDevice:
    """``device`` with every error times ``factor`` (gate errors, 1/T1 and 1/T2, readout)."""
    return ScaledDevice(device, factor)


class ScaledNatives(NativeErrors):
    """Native gates and durations from the device's target, errors from the scaled one.

    At optimisation level 3 the synthesis weighs error rates, so translating on the scaled
    target gave other one-qubit decompositions (FakeKingston, HQ-UNet's block, f = 0: rz 452
    and sx 386 against the device's 503 and 350); the knob must change errors only.
    """

    def __init__(self, target: Target, scaled: Target, optimization_level: int) -> None:
        super().__init__(target, optimization_level)
        self.scaled = NativeErrors(scaled, optimization_level)

    def error(self, name: str, qubits: tuple[int, ...]):
        """The scaled target's error of one native gate (``NativeErrors.error``)."""
        return self.scaled.error(name, qubits)

    def relaxation(self, qubit: int, seconds: float):
        """The scaled T1/T2 relaxation over an idle window (``NativeErrors.relaxation``)."""
        return self.scaled.relaxation(qubit, seconds)
