"""Execute a quantum block through qiskit-ibm-runtime's ``EstimatorV2``, on a device or locally.

- Credentials: a saved ``QiskitRuntimeService`` account or ``QISKIT_IBM_TOKEN``. Without them
  (or for ``local = true`` entries) the backend's fake twin runs in the runtime's *local
  testing mode*: noisy Aer under the hood, every mitigation option ignored. Results say so.
- One PUB per block: the ISA circuit, its observables mapped to the final layout, and all
  samples as a parameter array of shape (N, 1, P) against (1, n_obs) observables.
- The job id, the layout, the observables and the sample indices are written to
  ``<run_dir>/jobs/<tag>.json`` *before* waiting; values land in ``<tag>.npz`` afterwards.
  ``resume=True`` reuses a saved ``.npz``, or retrieves a finished device job by its id.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import time
import warnings
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from qiskit.circuit import Parameter

from hq_qiskit.atomic import atomic_write
from hq_qiskit.errors import ConfigError, HQError
from hq_qiskit.hardware.backends import Backend, fake_backend
from hq_qiskit.hardware.layout import MappedCircuit, offers_fractional, with_readout

log = logging.getLogger(__name__)

TOKEN_VAR = "QISKIT_IBM_TOKEN"
LOCAL_NOTE = (
    "local testing mode on {fake} (fake twin of {device}): noisy Aer simulation, "
    "unmitigated (local mode ignores TREX, ZNE, twirling and DD)"
)
# IBM's documented baseline: about 2 s per sub-job plus (rep_delay + circuit) x executions.
SUBJOB_OVERHEAD_S = 2.0
# devices IBM has taken out of service: with credentials they get a plain "retired" error
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
REP_DELAY_S = 250e-6  # only when the backend's configuration does not say
FAILED = ("ERROR", "CANCELLED")


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
    """

    backend: object
    local: bool
    note: str
    mode: str
    mitigation: tuple[str, ...] = field(default=())
    ideal: bool = False
    service: object = None

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


def rep_delay_s(backend) -> float:
    """Delay between shots, seconds: the backend configuration's ``default_rep_delay`` (IBM
    devices and their fake twins carry it), else IBM's usual 250 us."""
    try:
        value = float(backend.configuration().default_rep_delay)
    except Exception:  # no configuration (AerSimulator) or no such field
        return REP_DELAY_S
    return value if 0 < value < 1 else REP_DELAY_S


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
    local = backend.local or force_local or ideal or (service is None and not has_credentials())
    if local and device_only and not (backend.local or force_local or ideal):
        raise ConfigError(
            f"--backend {backend.name}: no IBM Quantum credentials found; save an "
            f"account (QiskitRuntimeService.save_account) or set {TOKEN_VAR}, or "
            "drop --device-only to run in local testing mode on the fake twin "
            f"{backend.noise} (or pick a fake_* entry)"
        )
    if local:
        fake = fake_backend(backend.noise)
        why = (
            ""
            if (backend.local or force_local or ideal)
            else " (no IBM Quantum credentials "
            f"found: save an account or set {TOKEN_VAR} to use the device)"
        )
        if ideal:
            note = (
                f"local testing mode on a noiseless AerSimulator with {backend.noise}'s target"
                " (no device noise: a plumbing check, unmitigated)"
            )
            return RuntimeTarget(
                ideal_simulator(backend.noise), True, note, backend.mode, (), ideal=True
            )
        note = LOCAL_NOTE.format(fake=backend.noise, device=backend.device or fake.name) + why
        return RuntimeTarget(fake, True, note + fractional_note(backend, fake), backend.mode, ())
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
        with warnings.catch_warnings():  # some fake twins warn about their own values
            warnings.simplefilter("ignore", UserWarning)
            names = sorted(b.name for b in service.backends())
        shown = ", ".join(names[:12]) + (f", ... ({len(names)} in all)" if len(names) > 12 else "")
        retired = (
            " has been retired"
            if backend.device in RETIRED
            else " is not available to this account (retired, or not in your plan)"
        )
        raise ConfigError(
            f"--backend {backend.name}: device {backend.device!r}{retired}; the "
            f"account can use {shown}: add one to backends.toml (device = ...) or "
            f"use its fake twin entry fake_* for local testing mode"
        ) from None
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


def set_mitigation(options, mitigation: Collection[str]) -> None:
    """Switch an EstimatorV2's ``options`` to exactly the named mitigation ("trex", "zne",
    "twirling", "dd"): resilience level 0, then each one on by name (TREX twirls readout)."""
    options.resilience_level = 0
    options.resilience.measure_mitigation = "trex" in mitigation
    options.resilience.zne_mitigation = "zne" in mitigation
    options.twirling.enable_gates = "twirling" in mitigation
    options.twirling.enable_measure = "twirling" in mitigation or "trex" in mitigation
    options.dynamical_decoupling.enable = "dd" in mitigation


def _estimator(
    target: RuntimeTarget,
    mode_obj,
    shots: int,
    precision: float,
    mitigation: Sequence[str],
    seed: int | None,
    max_execution_time: int | None = None,
):
    """An EstimatorV2 with shots or precision, the requested mitigation options and the
    job's ``max_execution_time`` (seconds of QPU time after which IBM stops it)."""
    from qiskit_ibm_runtime import EstimatorV2

    with warnings.catch_warnings():  # EstimatorV2 is deprecated in 0.50+, still the documented V2
        warnings.simplefilter("ignore", DeprecationWarning)
        est = EstimatorV2(mode=mode_obj)
    if max_execution_time:
        est.options.max_execution_time = max_execution_time
    if shots:
        est.options.default_shots = shots
    else:
        est.options.default_precision = precision
    if not target.local:  # pragma: no cover - local mode ignores (and warns about) these
        set_mitigation(est.options, mitigation)
    elif seed is not None:
        est.options.simulator.seed_simulator = seed
    return est


def parameter_array(mapped: MappedCircuit, columns: dict[Parameter, np.ndarray]) -> np.ndarray:
    """Parameter values (N, 1, P) in ``circuit.parameters`` order for one broadcast PUB.

    Args:
        mapped: the ISA circuit.
        columns: each circuit parameter -> its values for the N samples, shape (N,), radians.
    """
    params = list(mapped.circuit.parameters)
    missing = [p.name for p in params if p not in columns]
    if missing:
        raise HQError(f"no values for circuit parameters {missing[:5]}")
    return np.stack([np.asarray(columns[p], dtype=float) for p in params], axis=-1)[:, None, :]


def observable_array(mapped: MappedCircuit) -> np.ndarray:
    """The mapped observables as a (1, n_obs) object array (np.array would densify them)."""
    out = np.empty((1, len(mapped.observables)), dtype=object)
    for i, op in enumerate(mapped.observables):
        out[0, i] = op
    return out


@dataclass
class BlockResult:
    """Expectation values of one block from one job.

    Attributes:
        evs: (N, n_obs) expectation values.
        stds: (N, n_obs) standard errors reported by the primitive.
        job_id: the runtime job id.
        note: where it ran, in words; ``mitigation``: what was really applied.
        resumed: True when the values came from a previous run.
        seconds: wall time of submission and wait, seconds (0 when resumed).
        record: the job record as saved in ``jobs/<tag>.json``: where the job ran (from the
            job itself, not from today's target), its status, usage and result metadata.
    """

    evs: np.ndarray
    stds: np.ndarray
    job_id: str
    note: str
    mitigation: tuple[str, ...]
    resumed: bool = False
    seconds: float = 0.0
    record: dict = field(default_factory=dict)


class JobFailed(HQError):
    """A runtime job that ended in ERROR or CANCELLED, or did not finish in time."""


def job_status(job) -> str:
    """The job's status as an upper-case string ("QUEUED", "RUNNING", "DONE", "ERROR", ...):
    runtime jobs return strings, local jobs a ``JobStatus`` enum."""
    status = job.status()
    return str(getattr(status, "name", status)).upper()


def wait_for(
    job,
    *,
    timeout_s: float | None = None,
    expected_s: float = 0.0,
    desc: str = "",
    poll_s: float = 0.2,
):
    """Wait for a job with a progress bar of elapsed against expected seconds; its first
    PubResult. Status checks start 0.2 s apart and back off to ``poll_s`` (each is a request
    to IBM's service for a device job: keep it at seconds there).

    Raises:
        JobFailed: one line with the job id, its status and the reason the service gives,
            when the job failed, was cancelled, or did not finish within ``timeout_s``.
    """
    from tqdm.auto import tqdm

    start = time.perf_counter()
    total = max(1, round(expected_s))
    pause = min(0.2, poll_s)
    with tqdm(total=total, desc=desc or job.job_id(), unit="s", leave=False) as bar:
        while not job.done():
            elapsed = time.perf_counter() - start
            if timeout_s is not None and elapsed > timeout_s:
                raise JobFailed(
                    f"job {job.job_id()}: still {job_status(job)} after {timeout_s:.0f} s "
                    "(--result-timeout); --resume fetches it once it has finished"
                )
            bar.n = min(total, round(elapsed))
            bar.set_postfix_str(job_status(job).lower(), refresh=False)
            bar.refresh()
            time.sleep(pause)
            pause = min(poll_s, pause * 1.5)
        bar.n = total
    status = job_status(job)
    if status in FAILED:
        reason = ""
        with contextlib.suppress(Exception):  # a service that cannot say
            reason = job.error_message() or ""
        raise JobFailed(
            f"job {job.job_id()} {status}: {reason.strip() or 'no reason given'}; "
            "--resume resubmits it"
        )
    return job.result()[0]


def job_usage(job) -> dict[str, object]:
    """What the service reports a finished job used: ``usage()`` (QPU seconds, 0 locally),
    ``metrics()`` (timestamps, usage) and the execution spans when the result has them."""
    out: dict[str, object] = {}
    for name in ("usage", "metrics"):
        try:
            out[name] = getattr(job, name)()
        except Exception:  # a service without it
            out[name] = None
    return out


def _spans(result) -> object:
    spans = getattr(result.metadata, "get", lambda *_: None)("execution", {}) if result else None
    try:
        return [
            {"start": str(s.start), "stop": str(s.stop), "size": s.size}
            for s in spans["execution_spans"]
        ]
    except Exception:  # no spans (local mode) or another layout
        return None


def open_mode(target: RuntimeTarget):
    """The Batch or Session for a whole run (job mode: None, primitives take the backend).

    Local testing mode accepts all of them; use it as ``with open_mode(t) as mode: ...``.
    """
    from contextlib import nullcontext

    from qiskit_ibm_runtime import Batch, Session

    if target.mode == "job":
        return nullcontext(None)
    return (Batch if target.mode == "batch" else Session)(backend=target.backend)


def _submit(target, mode, pub, shots, precision, seed, max_execution_time):
    est = _estimator(
        target,
        target.backend if mode is None else mode,
        shots,
        precision,
        target.mitigation,
        seed,
        max_execution_time,
    )
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*no effect in local testing mode")
        return est.run([pub])


def _save_record(path: Path, record: dict) -> dict:
    """Write a job record atomically; returns it as read back (JSON types only)."""
    text = json.dumps(record, indent=1, default=str)
    atomic_write(path, text)
    return json.loads(text)


@dataclass
class PendingJob:
    """A submitted (or re-fetched) job not yet waited on; ``collect`` finishes it."""

    job: object
    record: dict
    record_path: Path
    values_path: Path
    desc: str
    start: float


def run_block(*args, result_timeout_s: float | None = None, expected_s: float = 0.0, **kw):
    """``submit_block`` then ``collect``: one block, submitted and waited on."""
    pending = submit_block(*args, **kw)
    if isinstance(pending, BlockResult):
        return pending
    return collect(pending, result_timeout_s=result_timeout_s, expected_s=expected_s)


def submit_block(
    mapped: MappedCircuit,
    values: np.ndarray,
    target: RuntimeTarget,
    *,
    run_dir: Path,
    tag: str,
    shots: int = 0,
    precision: float = 0.0,
    resume: bool = False,
    seed: int | None = None,
    sample_ids: Sequence[str] | None = None,
    mode=None,
    mitigation_requested: Sequence[str] = (),
    max_execution_time: int | None = None,
    echo=log.info,
) -> BlockResult | PendingJob:
    """Submit one block's PUB (all samples) and record the job; ``collect`` waits for it.

    A block whose values a previous run saved comes back as a finished ``BlockResult``.

    Args:
        mapped: ISA circuit and mapped observables (``layout.transpile_block``).
        values: parameter values (N, 1, P) from ``parameter_array``.
        target: from ``resolve``.
        run_dir: the run folder; job records go to ``run_dir/jobs``.
        tag: a file-safe name for this block's job, e.g. "bottleneck.qcnn".
        shots: shots per circuit, or 0 to use ``precision``.
        precision: target standard error when ``shots`` is 0.
        resume: reuse ``<tag>.npz``, retrieve the recorded device job, or resubmit a job that
            failed or was cancelled, instead of paying again.
        seed: simulator seed (local mode only).
        sample_ids: names of the N samples (tiles), stored with the job record.
        mode: the run's Batch or Session (``open_mode``), or a callable returning it (opened
            on first use); None opens one for this block.
        mitigation_requested: what the user asked for (recorded beside what was applied).
        max_execution_time: the job's QPU time limit, seconds (None: IBM's default).
    """
    jobs = Path(run_dir) / "jobs"
    jobs.mkdir(parents=True, exist_ok=True)
    record_path, values_path = jobs / f"{tag}.json", jobs / f"{tag}.npz"
    digest = values_digest(values)
    record = json.loads(record_path.read_text()) if resume and record_path.is_file() else None
    if record is not None and record.get("values_sha256", digest) != digest:
        raise HQError(
            f"{record_path}: --resume found a job for other inputs (another "
            "checkpoint, data or tile selection); drop --resume or choose another "
            "--out"
        )
    if record is not None and values_path.is_file():
        saved = np.load(values_path)
        if saved["evs"].shape[0] == values.shape[0]:
            return BlockResult(
                saved["evs"],
                saved["stds"],
                record["job_id"],
                record["note"],
                tuple(record.get("mitigation_applied", record.get("mitigation", ()))),
                resumed=True,
                record=record,
            )
    job = None
    desc = f"{tag} ({'local' if target.local else getattr(target.backend, 'name', '?')})"
    if record is not None and not record.get("local", True):
        if record.get("status") in FAILED:
            echo(f"{tag}: job {record['job_id']} was {record['status']}; resubmitting it")
        elif target.local or target.service is None:
            raise HQError(
                f"{record_path}: job {record['job_id']} ran on the device "
                f"{record.get('device')}; fetching it needs the IBM Quantum account it ran "
                "under (credentials), or remove the record to run the block locally"
            )
        else:
            job = target.service.job(record["job_id"])
            log.info("resuming job %s for %s", record["job_id"], tag)
            status = job_status(job)
            if status in FAILED:
                echo(f"{tag}: job {record['job_id']} is {status}; resubmitting it")
                job = None
    start = time.perf_counter()
    if job is None:
        pub = (mapped.circuit, observable_array(mapped), values)
        if callable(mode):
            mode = mode()
        if mode is None and target.mode != "job":
            with open_mode(target) as own:
                job = _submit(target, own, pub, shots, precision, seed, max_execution_time)
        else:
            job = _submit(target, mode, pub, shots, precision, seed, max_execution_time)
        record = {
            "job_id": job.job_id(),
            "tag": tag,
            **target.provenance(),
            "mitigation_requested": list(mitigation_requested),
            "mitigation": list(target.mitigation),
            "mode_id": getattr(mode, "session_id", None),
            "shots": shots,
            "precision": precision,
            "max_execution_time": max_execution_time,
            "initial_layout": list(mapped.initial_layout),
            "final_layout": list(mapped.final_layout),
            "observables": [op.to_list() for op in mapped.observables],
            "samples": list(sample_ids) if sample_ids is not None else values.shape[0],
            "values_sha256": digest,
            "submitted": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "status": "SUBMITTED",
        }
        record = _save_record(record_path, record)
    return PendingJob(job, record, record_path, values_path, desc, start)


def collect(
    pending: PendingJob, *, result_timeout_s: float | None = None, expected_s: float = 0.0
) -> BlockResult:
    """Wait for a submitted block's job, save its values and usage; its ``BlockResult``.

    Args:
        result_timeout_s: give up waiting after this many seconds (the job keeps its record).
        expected_s: expected wall time, seconds, for the progress bar.

    Raises:
        JobFailed: the job failed or was cancelled (its record says so, and ``resume``
            resubmits it), or the wait timed out.
    """
    job, record, record_path = pending.job, pending.record, pending.record_path
    tag = record["tag"]
    try:
        result = wait_for(
            job,
            timeout_s=result_timeout_s,
            expected_s=expected_s,
            desc=pending.desc,
            poll_s=0.2 if record.get("local") else 5.0,
        )
    except JobFailed as err:
        if "still" not in str(err):  # failed or cancelled: the record says so for --resume
            record["status"] = job_status(job)
            record = _save_record(record_path, record)
        raise JobFailed(f"block {tag}: {err}") from None
    evs = np.asarray(result.data.evs, dtype=float)  # (N, n_obs)
    stds = np.asarray(result.data.stds, dtype=float)
    record.update(
        status="DONE",
        **job_usage(job),
        execution_spans=_spans(result),
        result_metadata=dict(getattr(result, "metadata", {}) or {}),
    )
    record = _save_record(record_path, record)
    buf = io.BytesIO()
    np.savez(buf, evs=evs, stds=stds)
    atomic_write(pending.values_path, buf.getvalue())
    return BlockResult(
        evs,
        stds,
        record["job_id"],
        record["note"],
        tuple(record["mitigation_applied"]),
        seconds=time.perf_counter() - pending.start,
        record=record,
    )


def values_digest(values: np.ndarray) -> str:
    """SHA-256 of a parameter array rounded to 1e-9 rad: which inputs a job record belongs to."""
    import hashlib

    return hashlib.sha256(np.round(np.asarray(values, float), 9).tobytes()).hexdigest()


def qpu_seconds_estimate(
    mapped: MappedCircuit,
    target_obj,
    n_circuits: int,
    shots: int,
    n_subjobs: int = 1,
    rep_delay: float = REP_DELAY_S,
) -> float:
    """A lower bound on QPU time, seconds: 2 s per sub-job + (rep_delay + duration) x shots.

    IBM's documented baseline (the runtime's own estimate needs a server-side dry run, see
    ``runtime_estimate``). ``n_circuits`` counts bound circuits x measurement groups; the
    duration includes the final measurements; ``rep_delay`` in seconds (``rep_delay_s``).
    """
    try:
        duration = float(with_readout(mapped.circuit).estimate_duration(target_obj, unit="s"))
    except Exception:
        duration = 0.0
    return SUBJOB_OVERHEAD_S * n_subjobs + (rep_delay + duration) * shots * n_circuits


def runtime_estimate(target: RuntimeTarget, pub, shots: int, precision: float):
    """The runtime's own QPU estimate of one PUB, seconds, from a server-side dry run
    (``EstimatorV2.run(..., dry_run=True)`` on the device's mock twin, qiskit-ibm-runtime
    >= 0.51, ``job.usage_estimation``); None where it is not offered (local mode, older
    runtimes, an account without access) or does not answer within 60 s."""
    from qiskit_ibm_runtime import IBMBackend

    if target.local or not isinstance(target.backend, IBMBackend):
        return None
    try:  # pragma: no cover - needs IBM Quantum
        est = _estimator(target, target.backend, shots, precision, target.mitigation, None)
        job = est.run([pub], dry_run=True)
        deadline = time.monotonic() + 60
        while not job.done() and time.monotonic() < deadline:
            time.sleep(1)
        value = job.usage_estimation.get("quantum_seconds")
        return None if value is None else float(value)
    except Exception as err:  # pragma: no cover - the estimate is optional
        log.info("no runtime usage estimate (%s: %s); using ours", type(err).__name__, err)
        return None
