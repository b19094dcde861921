"""Hardware: named execution targets, transpile reports, device noise, device-run executors.

    backends.py          backends.toml -> frozen ``Backend`` records (load_backends, get_backend)
    kinds.py             KINDS, the one table of backend kinds: trains, report target, and for
                         device runs resolve + execute
    layout.py            noise-aware layout: candidate layouts scored by the target's error
                         rates; fractional-gate targets (rzz/rx) only when asked
    transpile_report.py  transpile every block per backend, level and seed: depth, 2q gates,
                         swaps, duration, ESP; Markdown, JSON and PNG
    idle.py              ESP with idle decoherence: ALAP idle times x T1/T2 relaxation fidelity
    schedule.py          the ISA circuit scheduled ALAP (a delay on every idle window) and the
                         snapshot's noise on it (relaxation on delays, asymmetric readout)
    native_errors.py     native-gate errors of a target as channels (Aer's from_backend errors)
    device_noise.py      a device's errors (layout, routing SWAPs, native gates, readout) as an
                         Aer NoiseModel on a block's logical qubits, for the exact noisy engine
    noisy_block.py       a block's module with its entry's device noise (training, evaluation)
    runtime.py           RuntimeTarget: the IBM device or its fake twin in local testing mode
    estimator.py         EstimatorV2 with shots, precision and mitigation; PUB parameter arrays
    jobs.py              a block's runtime job: submitted, recorded, waited on, resumed
    qpu_cost.py          QPU seconds before submission: IBM's baseline and the runtime's estimate
    local_sim.py         the exact noisy engine with device noise, its Aer density-matrix check,
                         and --compare-mitigation's table for one block
    executors.py         the device-run executors (device, local testing mode, exact noisy
                         engine) behind the runtime kind's resolve and execute
    mitigation.py        TREX/ZNE/twirling/DD measured against exact values on a noisy local
                         simulation of a block's device region (the runtime's client-side code)

Only ``backends`` is imported here; the others pull in qiskit and are imported where used.
"""

from hq_qiskit.hardware.backends import Backend, fake_backend, get_backend, load_backends

__all__ = ["Backend", "fake_backend", "get_backend", "load_backends"]
