"""Where a runtime entry runs: the IBM device, or its fake twin in local testing mode.

- Credentials: a saved ``QiskitRuntimeService`` account or ``QISKIT_IBM_TOKEN``. Without them
  (or for ``local = true`` entries) the backend's fake twin runs in the runtime's *local
  testing mode*: the same client-side Estimator and Executor, on a noisy Aer simulation of the
  block's physical qubits (``region_sim.py``), unmitigated. Results say so.
- ``resolve`` returns a ``RuntimeTarget``: the backend, local or not, the sentence that says
  so, the Batch/Session mode, the mitigation really applied, and which executor of
  ``executors.py`` runs its blocks ("device", "local" or "exact-noisy").

Submitting and waiting for jobs is ``jobs.py``; the estimator and its PUBs ``estimator.py``;
QPU cost ``qpu_cost.py``.
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from hq_qiskit.errors import ConfigError
from hq_qiskit.hardware.backends import Backend, fake_backend
from hq_qiskit.hardware.fleet import RETIRED, caveat_note, current_devices, retired_note
from hq_qiskit.hardware.layout import offers_fractional

TOKEN_VAR = "QISKIT_IBM_TOKEN"
LOCAL_NOTE = (
    "local testing mode on {fake} (fake twin of {device}): the runtime's Estimator on a noisy "
    "Aer simulation of the block's qubits (idle windows included), unmitigated (local runs ask "
    "for no TREX, ZNE, twirling or DD; --compare-mitigation measures them)"
)


def has_credentials() -> bool:
    """True if QISKIT_IBM_TOKEN is set or a QiskitRuntimeService account is saved on disk
    (``~/.qiskit/qiskit-ibm.json``, where ``save_account`` writes it; the runtime reads no
    variable that moves this file)."""
    if os.environ.get(TOKEN_VAR):
        return True
    saved = Path.home() / ".qiskit" / "qiskit-ibm.json"
    try:
        return saved.is_file() and bool(json.loads(saved.read_text()))
    except (OSError, ValueError):
        return False


@dataclass
class RuntimeTarget:
    """Where a runtime backend really runs.

    Attributes:
        backend: a qiskit ``BackendV2``: the real device or its fake twin.
        local: True in local testing mode.
        note: one plain sentence for the output ("local testing mode on FakeBrisbane ...").
        mode: "batch", "session" or "job" (local mode accepts them all).
        mitigation: mitigation really applied (empty in local mode).
        ideal: local mode on a noiseless AerSimulator with the twin's target (plumbing checks).
        service: the runtime service the device was found in (None locally).
        executor: the ``executors.EXECUTORS`` row that runs its blocks: "device", "local"
            (runtime local testing mode, noisy or ideal) or "exact-noisy".
        entry: the backends.toml entry it was resolved from (the exact noisy engine's noise).
    """

    backend: object
    local: bool
    note: str
    mode: str
    mitigation: tuple[str, ...] = field(default=())
    ideal: bool = False
    service: object = None
    executor: str = "local"
    entry: Backend | None = None

    def provenance(self) -> dict[str, object]:
        """Where a job on this target runs, for its record: device or local, the backend's
        name and version, the calibration snapshot date (a fake twin's is fixed), the mode and
        the mitigation really applied."""
        return {
            "local": self.local,
            "ideal_simulator": self.ideal,
            "device": getattr(self.backend, "name", "?"),
            **snapshot(self.backend),
            "mode": self.mode,
            "note": self.note,
            "mitigation_applied": list(self.mitigation),
        }


def snapshot(backend) -> dict[str, str | None]:
    """``backend_version`` and the properties' ``last_update_date`` (a fake twin's snapshot
    date, a device's last calibration), as strings; None where the backend has none."""
    version = getattr(backend, "backend_version", None)
    try:
        date = backend.properties().last_update_date
    except Exception:  # an AerSimulator or a backend without properties
        date = None
    return {
        "backend_version": None if version is None else str(version),
        "snapshot_date": None if date is None else str(date),
    }


def ideal_simulator(fake_name: str):
    """A noiseless ``AerSimulator`` with the fake device's target (its qubits, gates, coupling).

    ISA circuits for the device run on it unchanged; Aer drops the idle qubits, so a 16-qubit
    block costs one 16-qubit statevector plus sampling (``AerSimulator()`` alone has 30 qubits
    and cannot take a 127-qubit ISA circuit).
    """
    from qiskit_aer import AerSimulator

    return AerSimulator(target=fake_backend(fake_name).target)


def resolve(
    backend: Backend,
    *,
    force_local: bool = False,
    ideal: bool = False,
    device_only: bool = False,
    service=None,
) -> RuntimeTarget:
    """The device for a runtime entry, or its fake twin in local testing mode.

    Args:
        backend: a runtime entry of backends.toml.
        force_local: use local testing mode even with credentials.
        ideal: local testing mode on ``ideal_simulator`` (no noise) instead of the fake twin.
        device_only: refuse to fall back to local testing mode when there are no credentials.
        service: the runtime service to look the device up in (default: a
            ``QiskitRuntimeService()`` from the saved account or ``QISKIT_IBM_TOKEN``).

    Raises:
        ConfigError: not a runtime entry; no credentials with ``device_only``; a device the
            account cannot use (retired, or not in the plan): the message lists those it can.
    """
    if backend.kind != "runtime":
        raise ConfigError(
            f"backend {backend.name!r} has kind {backend.kind!r}; IBM Runtime needs "
            "a runtime entry such as ibm_fez or fake_brisbane"
        )
    asked_local = backend.local or force_local or ideal
    local = asked_local or (service is None and not has_credentials())
    if local and device_only and not asked_local:
        raise ConfigError(
            f"--backend {backend.name}: no IBM Quantum credentials found; save an "
            f"account (QiskitRuntimeService.save_account) or set {TOKEN_VAR}, or "
            "drop --device-only to run in local testing mode on the fake twin "
            f"{backend.noise} (or pick a fake_* entry)"
        )
    if local:
        return _local_target(backend, ideal=ideal, asked=asked_local)
    return _device_target(backend, service)


def _local_target(backend: Backend, *, ideal: bool, asked: bool) -> RuntimeTarget:
    """Local testing mode on the entry's fake twin (or a noiseless AerSimulator with its
    target); ``asked``: chosen by the entry or a flag, not forced by missing credentials."""
    if ideal:
        note = (
            f"local testing mode on a noiseless AerSimulator with {backend.noise}'s target"
            " (no device noise: a plumbing check, unmitigated)"
        ) + retired_note(backend.device)
        return RuntimeTarget(
            ideal_simulator(backend.noise), True, note, backend.mode, (), ideal=True, entry=backend
        )
    fake = fake_backend(backend.noise)
    why = (
        ""
        if asked
        else " (no IBM Quantum credentials "
        f"found: save an account or set {TOKEN_VAR} to use the device)"
    )
    note = LOCAL_NOTE.format(fake=backend.noise, device=backend.device or fake.name) + why
    note += fractional_note(backend, fake) + retired_note(backend.device)
    note += caveat_note(backend.noise)
    return RuntimeTarget(fake, True, note, backend.mode, (), entry=backend)


def _device_target(backend: Backend, service) -> RuntimeTarget:
    """The IBM device of a runtime entry, looked up in ``service`` (default: the account)."""
    if service is None:  # pragma: no cover - needs an IBM Quantum account and the network
        from qiskit_ibm_runtime import QiskitRuntimeService

        try:
            service = QiskitRuntimeService()
        except Exception as err:
            raise ConfigError(
                f"IBM Quantum account could not be loaded ({type(err).__name__}: "
                f"{err}); check {TOKEN_VAR} or the saved account, or use a fake_* "
                "entry for local testing mode"
            ) from None
    try:
        device = (
            service.backend(backend.device, use_fractional_gates=True)
            if backend.fractional_gates
            else service.backend(backend.device)
        )
    except Exception:
        raise _unavailable(backend, service) from None
    if backend.fractional_gates and not offers_fractional(device.target):
        raise ConfigError(
            f"--backend {backend.name}: fractional gates asked for (--fractional-gates or "
            f"fractional_gates = true), but {backend.device}'s target has no rzz/rx even with "
            "use_fractional_gates=True; drop the option for this device"
        )
    return RuntimeTarget(
        device,
        False,
        f"IBM Quantum device {backend.device}"
        + (" with fractional gates (rzz, rx)" if backend.fractional_gates else ""),
        backend.mode,
        backend.mitigation,
        service=service,
        executor="device",
        entry=backend,
    )


def _unavailable(backend: Backend, service) -> ConfigError:
    """The error for a device the account cannot use, listing the devices it can."""
    with warnings.catch_warnings():  # some fake twins warn about their own values
        warnings.simplefilter("ignore", UserWarning)
        names = sorted(b.name for b in service.backends())
    shown = ", ".join(names[:12]) + (f", ... ({len(names)} in all)" if len(names) > 12 else "")
    retired = (
        f" has been retired (current devices: {', '.join(current_devices())})"
        if backend.device in RETIRED
        else " is not available to this account (retired, or not in your plan)"
    )
    return ConfigError(
        f"--backend {backend.name}: device {backend.device!r}{retired}; the "
        f"account can use {shown}: add one to backends.toml (device = ...) or "
        f"use its fake twin entry fake_* for local testing mode"
    )


def fractional_note(backend: Backend, device) -> str:
    """For a local run: what became of a request for fractional gates ("" if none asked)."""
    if not backend.fractional_gates:
        return ""
    if offers_fractional(device.target):
        return "; fractional gates rzz/rx in use"
    return (
        f"; fractional gates asked for, but {backend.noise}'s snapshot has no rzz/rx: "
        "transpiled without them (a device fetched with use_fractional_gates=True has them)"
    )
