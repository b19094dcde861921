"""What IBM's fleet says about an entry before anything runs: retired devices and the current
ones to use instead, the caveats qiskit-ibm-runtime attaches to a fake twin (FakeNighthawk's
error values are not representative), and the angle range of fractional RZZ gates that IBM
checks at submission (``rzz_out_of_range``), checked here first.
"""

from __future__ import annotations

import math
import sys

import numpy as np
from qiskit.circuit import ParameterExpression

from hq_qiskit.hardware.backends import CAVEATS, fake_backend, load_backends
from hq_qiskit.hardware.layout import MappedCircuit

# devices IBM has taken out of service (the Eagle r3 generation and older); their fake twins
# stay in qiskit-ibm-runtime, so offline entries of them keep working
RETIRED = (
    "ibm_brisbane",
    "ibm_kyiv",
    "ibm_sherbrooke",
    "ibm_osaka",
    "ibm_kyoto",
    "ibm_nazca",
    "ibm_cusco",
    "ibm_quebec",
    "ibm_kawasaki",
    "ibm_rensselaer",
)
RZZ_MAX = math.pi / 2  # IBM accepts fractional RZZ(theta) for 0 < theta <= pi/2


def current_devices() -> list[str]:
    """The IBM devices of backends.toml's runtime entries that are not retired, sorted."""
    return sorted(
        {b.device for b in load_backends().values() if b.device and b.device not in RETIRED}
    )


def retired_note(device: str | None) -> str:
    """ "; ibm_brisbane is retired (...)" for a retired device, else ""."""
    if device not in RETIRED:
        return ""
    return (
        f"; {device} is retired: this run uses its fake twin's snapshot; current devices: "
        f"{', '.join(current_devices())}"
    )


def fake_caveats(class_name: str) -> list[str]:
    """The warnings qiskit-ibm-runtime issued when it built this fake twin (FakeNighthawk:
    "Properties of fake_nighthawk are not intended to represent typical nighthawk error
    values"), as ``backends.fake_backend`` caught and passed them on; [] for the others. The
    runtime warns once per process: a twin first built elsewhere is recognised by the flag
    its module keeps (``DISPLAY_WARNING``)."""
    fake = fake_backend(class_name)
    said = CAVEATS.get(class_name, [])
    if (
        not said
        and getattr(sys.modules.get(type(fake).__module__), "DISPLAY_WARNING", True) is False
    ):
        said = [
            f"{class_name}'s properties are not intended to represent the device's error values"
        ]
    return list(said)


def caveat_note(class_name: str | None) -> str:
    """ "; qiskit-ibm-runtime warns: ..." in one clause, or "" without a caveat."""
    said = fake_caveats(class_name) if class_name else []
    return f"; qiskit-ibm-runtime warns: {' '.join(said)}" if said else ""


def rzz_out_of_range(mapped: MappedCircuit, values: np.ndarray) -> tuple[float, int] | None:
    """The first fractional RZZ angle outside IBM's (0, pi/2], as (angle in rad, sample
    index), over every sample's bound parameters; None when all are in range or the circuit
    has no RZZ.

    Args:
        mapped: the ISA circuit; values: its parameter values (N, 1, P) in
            ``circuit.parameters`` order (``estimator.parameter_array``).
    """
    order = {p: k for k, p in enumerate(mapped.circuit.parameters)}
    rows = np.asarray(values, float).reshape(len(values), -1)  # (N, P)
    for inst in mapped.circuit.data:
        if inst.operation.name != "rzz":
            continue
        theta = inst.operation.params[0]
        if isinstance(theta, ParameterExpression) and theta.parameters:
            params = list(theta.parameters)
            angles = [float(theta.bind({p: r[order[p]] for p in params})) for r in rows]
        else:
            angles = [float(theta)] * max(1, len(rows))
        for k, a in enumerate(angles):
            if not 0 < a <= RZZ_MAX + 1e-12:
                return a, k
    return None
