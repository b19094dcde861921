"""Hardware: named execution targets, transpile reports, IBM Runtime execution.

    backends.py          backends.toml -> frozen ``Backend`` records (load_backends, get_backend)
    transpile_report.py  transpile every block per backend, level and seed: depth, 2q gates,
                         swaps, duration, ESP; Markdown, JSON and PNG
    idle.py              ESP with idle decoherence: ALAP idle times x T1/T2 relaxation fidelity
    layout.py            noise-aware layout: candidate layouts scored by the target's error
                         rates; fractional-gate targets (rzz/rx) only when asked
    device_noise.py      a device's errors (layout, routing SWAPs, native gates, readout) as an
                         Aer NoiseModel on a block's logical qubits, for the exact noisy engine
    runtime.py           ISA circuits, PUBs with parameter arrays, job ids, local testing mode
    mitigation.py        TREX/ZNE/twirling/DD measured against exact values on a noisy local
                         simulation of a block's device region (the runtime's client-side code)

Only ``backends`` is imported here; the others pull in qiskit and are imported where used.
"""

from hq_qiskit.hardware.backends import Backend, fake_backend, get_backend, load_backends

__all__ = ["Backend", "fake_backend", "get_backend", "load_backends"]
