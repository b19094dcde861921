"""Device noise for a block's own logical circuit: an Aer ``NoiseModel`` built from a target.

What a device does to a logical circuit is decided by its ISA circuit: the layout, the routing
SWAPs and the native gates each logical gate becomes, each with its calibrated error and
duration. This module builds a ``NoiseModel`` on the *logical* qubits that carries those errors,
so the exact noisy engine (``quantum/noisy/``) can run the logical circuit, 16 qubits wide,
without simulating the 127- or 156-qubit ISA circuit.

How it is built (once per circuit, backend, transpile settings and calibration snapshot):

1. Layout: the block is transpiled as the device would run it (``layout.transpile_block`` with
   the entry's optimisation level, layout strategy and seed). That run is then repeated (same
   target or region, same seed) keeping its circuit right after routing
   (``routing_replay.py``), which shows where every logical gate runs and which SWAPs routing
   inserted; the replay is kept when its layouts are the ISA circuit's (otherwise the circuit
   is routed afresh from the ISA circuit's initial layout, and a log line says so).
2. Native gates: the routed circuit is cut into pieces, each two-qubit operation with the
   one-qubit gates on its qubits since their previous two-qubit operation (a SWAP as three
   CX), plus one-qubit runs after a qubit's last two-qubit operation, and each piece is
   translated alone to the target's basis at the entry's optimisation level. Every native
   gate brings the error Aer's ``NoiseModel.from_backend`` gives it: a depolarising error
   fitted to the target's gate error, composed with thermal relaxation over the gate's
   duration from the qubits' T1 and T2 (Aer's own helper functions). For the enrichment QCNN
   this attributes exactly the ISA circuit's two-qubit gates (69 CZ on FakeFez, 87 ECR on
   FakeBrisbane).
3. Idle windows (``native_schedule.py``): the ISA circuit is scheduled ALAP with the target's
   durations, all qubits read together at the end; the window a qubit waits after its k-th
   two-qubit gate (ALAP pushes one-qubit gates late, so it opens right after that gate) is
   put right after the model's k-th two-qubit native gate on that qubit as the qubit's
   thermal relaxation (Aer's delay channel). A qubit whose two-qubit gates do not match the
   ISA circuit's takes the windows of the model's own native schedule.
4. One channel per piece: each native error (and idle relaxation) is carried to the end of
   its piece through the native gates after it (conjugated by them), so the channel F
   satisfies F . U = the noisy native sequence. Where those gates have parametrised angles F
   depends on them, and it is averaged over uniform angle draws (a mixture of channels).
   In place of this, where it can, the model takes each piece's native errors from the ISA
   circuit itself, in its frame (``isa_frames.py``): both circuits are walked in step, the
   local frame between them followed qubit by qubit, and the ISA gates' errors (and the idle
   windows after its two-qubit gates) moved into the logical frame. The transpiler
   resynthesises one-qubit gates across pieces, so an ECR's relaxation (660 ns on
   FakeBrisbane) acts between other local rotations than in the piece translated alone;
   this raised the captured share of the 2x3 block from 0.65-0.85 to 0.96-0.98 there
   (``docs/benchmarks.md``). A piece the walk cannot match keeps its own translation.
5. Attribution: a piece ends at its two-qubit gate, so its channel acts right after that
   logical gate, in the frame where it was computed; a trailing one-qubit run's channel acts
   after its last gate. A routing SWAP moves no logical state: its piece's channel acts on the
   holders right after their last logical gates (whole when that is one gate on both, else
   each holder gets its marginal, the reduced channel with the other qubit maximally mixed; a
   part on an ancilla is dropped).
6. The model: Aer attaches errors to (instruction name, ordered qubits), not to occurrences,
   so each key gets the mean of its occurrences' channels (the first-order total, not the
   position); the channel of every occurrence travels with the model for the exact engine,
   which applies those (``quantum/noisy/positional.py``; ``positional.aer_circuit`` gives Aer
   the same model exactly). Readout: the physical qubit holding each logical qubit at the end
   (``final_layout``), from the snapshot's asymmetric P(1|0) and P(0|1) (the target's
   symmetric ``measure`` error is their mean and drops the offset they make).

What the approximation leaves out, plainly: the angle average in 4 (one-qubit errors carried
through parametrised rotations depend on the data and weights), the marginals of routing
SWAPs' channels, crosstalk and leakage (as in ``NoiseModel.from_backend``), and correlated
readout.
``hardware/noise_capture.py`` measures the share of the noise the model captures against the
exact schedule-aware reference (``docs/benchmarks.md``).
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from qiskit import QuantumCircuit

from hq_qiskit.circuits.block import QuantumBlock
from hq_qiskit.errors import ConfigError
from hq_qiskit.hardware.backends import Backend, fake_backend, get_backend
from hq_qiskit.hardware.isa_frames import pair_channels
from hq_qiskit.hardware.layout import MappedCircuit, transpile_block
from hq_qiskit.hardware.native_errors import SKIP, NativeErrors, embed, marginal, to_error
from hq_qiskit.hardware.native_schedule import idle_windows, loose_fragment, pair_fragment
from hq_qiskit.hardware.noise_scale import ScaledNatives, check_factor, scaled_device
from hq_qiskit.hardware.routing_replay import replay_routing
from hq_qiskit.hardware.schedule import readout_probabilities
from hq_qiskit.quantum.noisy import positional

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeviceNoise:
    """A logical-circuit noise model and where it came from.

    Attributes:
        noise_model: Aer ``NoiseModel`` on the block's logical qubits.
        mapped: the ISA transpilation whose layout was used.
        device: the fake backend's name, e.g. "fake_brisbane".
        snapshot: the calibration snapshot, e.g. "fake_brisbane 1.1.79 2025-02-26 14:33:06-05:00".
        swaps: routing SWAPs in the re-routed logical circuit.
        native_gates: native gate name -> how many had their errors attributed (compare with
            ``mapped.circuit.count_ops()``, the transpiler's own ISA circuit).
        build_s: seconds spent building (transpile, routing, translations).
        noise_scale: factor every error was scaled by (``noise_scale.py``; 1: the device's).
        framed: (pieces whose two-qubit errors are in the ISA circuit's frame, all pieces).
    """

    noise_model: object
    mapped: MappedCircuit
    device: str
    snapshot: str
    swaps: int
    native_gates: dict[str, int]
    build_s: float
    noise_scale: float = 1.0
    framed: tuple[int, int] = (0, 0)


# --------------------------------------------------------------------- small pieces
def snapshot_of(device) -> str:
    """'name version date' of a (fake) backend's calibration data.

    A fake backend loads its properties lazily, so they are asked for here: reading them only
    where already loaded gave the first call a key without the date (and a cache miss later).
    """
    props = device.properties() if callable(getattr(device, "properties", None)) else None
    date = getattr(props, "last_update_date", "") or ""
    return f"{device.name} {getattr(device, 'backend_version', '')} {date}".strip()


# --------------------------------------------------------------------------- builder
Event = dict  # {"index": logical gate or None (routing SWAP), "sub": qubits, "op", "at"}
PairBlock = tuple[tuple[int, int], list[int]]  # (sub qubit pair, event indices)


def _walk(
    block: QuantumBlock, routed: QuantumCircuit, initial: list[int], qubits_of: dict
) -> tuple[list[Event], int]:
    """Stage 1, layout: walk the routed circuit and find where each logical gate runs.

    Args:
        initial: the routed circuit's qubit holding each logical qubit at the start.
        qubits_of: logical gate index -> its logical qubits.

    Returns:
        (events in routed order, routing SWAPs). An event's "at" maps routed qubit -> logical
        qubit after it (a routing SWAP moves them).

    Raises:
        ConfigError: a routed gate that is not the next logical gate on its qubits.
    """
    n = block.circuit.num_qubits
    queues: dict[int, list[int]] = {q: [] for q in range(n)}
    for i in sorted(qubits_of):
        for q in qubits_of[i]:
            queues[q].append(i)
    log_at = {initial[v]: v for v in range(n)}  # sub qubit -> logical
    events: list[Event] = []
    swaps = 0
    for inst in routed.data:
        name = inst.operation.name
        if name in SKIP:
            continue
        sub_q = tuple(routed.find_bit(q).index for q in inst.qubits)
        occupants = tuple(log_at.get(p) for p in sub_q)
        heads = {queues[v][0] if v is not None and queues[v] else None for v in occupants}
        if name == "swap" and (len(heads) != 1 or None in heads):
            swaps += 1
            a, b = sub_q
            va, vb = log_at.get(a), log_at.get(b)
            for p, v in ((b, va), (a, vb)):
                if v is None:
                    log_at.pop(p, None)
                else:
                    log_at[p] = v
            events.append({"index": None, "sub": sub_q, "op": inst.operation, "at": dict(log_at)})
            continue
        (index,) = heads
        if block.circuit.data[index].operation.name != name:
            raise ConfigError(f"device noise: routed gate {name!r} does not match the circuit")
        for v in occupants:
            queues[v].pop(0)
        events.append({"index": index, "sub": sub_q, "op": inst.operation, "at": dict(log_at)})
    return events, swaps


def _pair_blocks(events: list[Event]) -> tuple[list[PairBlock], dict[int, list[int]]]:
    """Stage 2, pieces: each two-qubit operation with the one-qubit gates on its qubits since
    their previous two-qubit operation, so that a piece ends at its two-qubit gate and its
    channel, carried to that end, acts right after the gate it is attached to.

    Returns:
        (pieces in order, sub qubit -> its one-qubit events after its last two-qubit one).
    """
    blocks: list[PairBlock] = []
    loose: dict[int, list[int]] = {}  # sub qubit -> one-qubit events not in a piece yet
    for e, ev in enumerate(events):
        sq = ev["sub"]
        if len(sq) == 1:
            loose.setdefault(sq[0], []).append(e)
            continue
        a, b = sq
        blocks.append(((a, b), sorted(loose.pop(a, []) + loose.pop(b, [])) + [e]))
    return blocks, loose


class _Attribution:
    """Stages 3-4: native errors per logical gate occurrence, in the gate's own qubit order.

    Attributes:
        per_gate: logical gate index -> its channel (4**k, 4**k), row-major.
    """

    def __init__(self, qubits_of: dict[int, tuple[int, ...]]) -> None:
        self.qubits_of = qubits_of
        self.per_gate: dict[int, np.ndarray] = {}

    def attach(self, index: int, m: np.ndarray, holders: Sequence[int]) -> None:
        """Compose channel ``m`` on logical qubits ``holders`` after gate ``index``'s."""
        qs = self.qubits_of[index]
        k = len(qs)
        full = embed(m, [qs.index(v) for v in holders], k)
        self.per_gate[index] = full @ self.per_gate.get(index, np.eye(4**k, dtype=complex))

    def pair_blocks(
        self, blocks: list[PairBlock], events: list[Event], natives, region, idle: dict, isa
    ) -> None:
        """Stage 3: each two-qubit block's native channel, in the ISA circuit's frame where
        ``isa`` (``isa_frames.IsaFrames``) has it, else of the block translated alone (a
        routing SWAP as three CX, idle windows from ``idle``), given to its logical two-qubit
        gate, or for a routing SWAP to the holders' last logical gates (``before_swap``)."""
        for bid, ((a, b), members) in enumerate(blocks):
            m = isa.pairs.get(bid)
            if m is None:
                frag = pair_fragment(members, events, (a, b))
                m = natives.channel(frag, (region[a], region[b]), idle=idle[("pair", bid)])
            at = events[members[-1]]["at"]
            holders = (at.get(a), at.get(b))  # who sits on the pair when its errors act
            last_2q = [
                events[e]["index"]
                for e in members
                if events[e]["index"] is not None and len(events[e]["sub"]) == 2
            ]
            if last_2q and set(holders) == set(self.qubits_of[last_2q[-1]]):
                self.attach(last_2q[-1], m, holders)
            else:  # a routing SWAP
                self.before_swap(members[-1], m, holders, events)

    def loose_runs(
        self, loose: dict, events: list[Event], natives, region, idle: dict, isa
    ) -> None:
        """Stage 3: one-qubit runs after a qubit's last block, each to its last gate (in the
        ISA circuit's frame where ``isa`` has the qubit)."""
        for p, members in loose.items():
            m = isa.trailing.get(p)
            if m is None:
                frag = loose_fragment(members, events)
                m = natives.channel(frag, (region[p],), idle=idle[("loose", p)])
            last = events[members[-1]]["index"]
            self.attach(last, m, self.qubits_of[last])

    def before_swap(self, e: int, m: np.ndarray, holders: tuple, events: list[Event]) -> None:
        """Stage 4: a routing SWAP's piece moves no logical state, so its channel acts on the
        holders' state as it was after their last logical gates: whole when that is one gate
        on both, else each holder gets its marginal (an approximation; a part on an ancilla
        is dropped)."""
        last: dict[int, int] = {}
        for ev in reversed(events[:e]):
            index = ev["index"]
            if index is None:
                continue
            for v in self.qubits_of[index]:
                if v in holders and v not in last:
                    last[v] = index
            if len(last) == len([v for v in holders if v is not None]):
                break
        if None not in holders and len(last) == 2 and last[holders[0]] == last[holders[1]]:
            self.attach(last[holders[0]], m, holders)
            return
        for v, index in last.items():  # holders[0] is the channel's bit 0
            self.attach(index, marginal(m, holders.index(v)), [v])


def _noise_model(
    block: QuantumBlock, per_gate: dict[int, np.ndarray], qubits_of: dict, mapped, device
):
    """Stage 5: the Aer ``NoiseModel``: per (name, qubits) key the mean channel over its
    occurrences (Aer attaches errors per key), and the readout error of the physical qubit
    holding each logical qubit at the end (``final_layout``): the snapshot's asymmetric
    P(1|0), P(0|1) (``schedule.readout_probabilities``)."""
    from qiskit_aer.noise import NoiseModel, ReadoutError

    groups: dict[tuple, list[int]] = {}
    for i in sorted(qubits_of):
        groups.setdefault((block.circuit.data[i].operation.name, qubits_of[i]), []).append(i)
    nm = NoiseModel()
    positional.attach(nm, block.circuit, per_gate)  # the exact engine's, per occurrence
    for (name, qs), ids in sorted(groups.items()):
        eye = np.eye(4 ** len(qs), dtype=complex)
        mean = sum(per_gate.get(i, eye) for i in ids) / len(ids)
        if not np.allclose(mean, eye, atol=1e-14):
            nm.add_quantum_error(to_error(mean), name, list(qs), warnings=False)
    for v, p in enumerate(mapped.final_layout):
        probs = readout_probabilities(device, p)
        if probs is None:
            continue
        p10, p01 = probs
        nm.add_readout_error(ReadoutError([[1 - p10, p10], [p01, 1 - p01]]), [v], warnings=False)
    return nm


def _build(
    block: QuantumBlock, device, level: int, strategy: str, seed: int, scale: float = 1.0
) -> DeviceNoise:
    """The device noise of a block's logical circuit, built in the stages of the module
    docstring: transpile as the device would and replay its routing (1), cut the routed
    circuit into two-qubit blocks and one-qubit runs (2), their native errors as channels
    (3), attributed to logical gates (4), one mean channel per Aer key plus readout (5).
    With ``scale`` != 1 the errors of 3 and 5 come from ``noise_scale.scaled_device``; the
    layout, routing and schedule stay the device's own."""
    start = time.perf_counter()
    target = device.target
    mapped = transpile_block(
        block.circuit,
        block.observables,
        target,
        optimization_level=level,
        seed=seed,
        strategy=strategy,
    )
    routed, region, initial = replay_routing(block, target, mapped, level)
    qubits_of = {
        i: tuple(block.circuit.find_bit(q).index for q in inst.qubits)
        for i, inst in enumerate(block.circuit.data)
        if inst.operation.name not in SKIP
    }
    events, swaps = _walk(block, routed, initial, qubits_of)
    blocks, loose = _pair_blocks(events)
    errs = device if scale == 1 else scaled_device(device, scale)
    natives = (
        NativeErrors(target, level) if errs is device else ScaledNatives(target, errs.target, level)
    )
    errors = _Attribution(qubits_of)
    idle = idle_windows(blocks, loose, events, natives, region, mapped.circuit)
    framed = pair_channels(events, blocks, loose, region, mapped.circuit, natives)
    errors.pair_blocks(blocks, events, natives, region, idle, framed)
    errors.loose_runs(loose, events, natives, region, idle, framed)
    counts = dict(natives.counts)
    for name, k in framed.counts.items():
        counts[name] = counts.get(name, 0) + k
    return DeviceNoise(
        noise_model=_noise_model(block, errors.per_gate, qubits_of, mapped, errs),
        mapped=mapped,
        device=device.name,
        snapshot=snapshot_of(device),
        swaps=swaps,
        native_gates=dict(sorted(counts.items())),
        build_s=time.perf_counter() - start,
        noise_scale=scale,
        framed=(len(framed.pairs), len(blocks)),
    )


_CACHE: dict[tuple, DeviceNoise] = {}


def _circuit_key(block: QuantumBlock) -> str:
    """A stable hash of the block's circuit, parameters and observables."""
    from qiskit import qasm3

    text = qasm3.dumps(block.circuit) + "|" + ",".join(block.observable_names)
    text += "|" + ",".join(str(p.uuid) for p in block.circuit.parameters)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def device_noise(
    block: QuantumBlock,
    backend: Backend | str | object,
    *,
    optimization_level: int | None = None,
    layout: str | None = None,
    seed: int | None = None,
    noise_scale: float = 1.0,
) -> DeviceNoise:
    """The device noise of ``block``'s logical circuit on ``backend`` (cached per process).

    Args:
        block: the quantum block.
        backend: a ``backends.toml`` entry (``Backend`` or its name) with a ``noise`` fake
            backend, or a backend object with a ``target`` (e.g. ``FakeFez()``).
        optimization_level, layout, seed: transpile settings; default to the entry's
            (for a backend object: 3, "noise_aware", 0).
        noise_scale: every error times this factor (``noise_scale.py``: gate errors, 1/T1
            and 1/T2, readout capped at 0.5); 0 builds a model without errors.

    Returns:
        The ``DeviceNoise``; its ``noise_model`` goes to ``connect_block(block, noise=...)``.
        The cache key is (circuit hash, device name, snapshot, level, layout, seed, scale).

    Raises:
        ConfigError: an ideal entry (no ``noise``) or an unknown name.
    """
    if isinstance(backend, str):
        backend = get_backend(backend)
    if isinstance(backend, Backend):
        if backend.noise is None:
            raise ConfigError(
                f"backend {backend.name!r} is ideal: device noise needs an entry with 'noise'"
            )
        level = backend.optimization_level if optimization_level is None else optimization_level
        strategy = backend.layout if layout is None else layout
        seed = backend.seed_transpiler if seed is None else seed
        device = _fake(backend.noise)
    else:
        device = backend
        level = 3 if optimization_level is None else optimization_level
        strategy = "noise_aware" if layout is None else layout
        seed = 0 if seed is None else seed
    scale = check_factor(noise_scale)
    key = (_circuit_key(block), device.name, snapshot_of(device), level, strategy, seed, scale)
    if key not in _CACHE:
        _CACHE[key] = _build(block, device, level, strategy, seed, scale)
        info = _CACHE[key]
        log.info(
            "device noise for %s on %s: %d swaps, native gates %s, %d of %d pieces in the ISA "
            "frame, %.1f s",
            block.name,
            info.snapshot,
            info.swaps,
            info.native_gates,
            *info.framed,
            info.build_s,
        )
    return _CACHE[key]


_FAKES: dict[str, object] = {}


def _fake(name: str):
    if name not in _FAKES:
        _FAKES[name] = fake_backend(name)
    return _FAKES[name]


def device_noise_model(block: QuantumBlock, backend: Backend | str | object, **kwargs):
    """``device_noise(block, backend, **kwargs).noise_model``: an Aer NoiseModel, cached."""
    return device_noise(block, backend, **kwargs).noise_model
