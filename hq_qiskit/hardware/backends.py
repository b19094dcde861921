"""Named execution targets from ``backends.toml``, parsed once into frozen ``Backend`` records.

Where the file comes from (first hit wins):

1. the ``path`` argument (``--backends-file`` on the command line);
2. the ``HQ_QISKIT_BACKENDS`` environment variable;
3. ``backends.toml`` at the repository root, when running from a checkout (the canonical,
   user-facing file: edit this one);
4. the copy shipped inside the package, ``hq_qiskit/hardware/backends.toml``, for installed
   wheels. A test asserts it is byte-identical to the top-level file.

Every entry is checked: an unknown key, a wrong type or a value outside its accepted set raises
one ``ConfigError`` line naming the file, the entry, the key and what is accepted.
"""

from __future__ import annotations

import os
import sys
import warnings
from dataclasses import dataclass, fields
from functools import lru_cache
from importlib import resources
from pathlib import Path

from hq_qiskit.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 needs the tomli backport
    import tomli as tomllib

KIND_NAMES = ("aer", "runtime")  # the rows of kinds.KINDS (kinds.py imports this module)
LAYOUTS = ("preset", "noise_aware", "trivial")
MITIGATIONS = ("trex", "zne", "twirling", "dd")
MODES = ("batch", "session", "job")
DEVICE_MODELS = ("logical", "scheduled")
ENV_VAR = "HQ_QISKIT_BACKENDS"
# keys of the retired damping noise mode (now bench/damping.py): read and ignored, so that older
# backends files and the backend_entry of older runs' config.json still load
RETIRED_KEYS = ("calibration_samples", "calibration_shots")


@dataclass(frozen=True)
class Backend:
    """One execution target.

    Attributes:
        name: the entry's name in ``backends.toml`` (``--backend NAME``).
        kind: "aer" (local Aer simulator) or "runtime" (qiskit-ibm-runtime ``EstimatorV2``).
        description: one line for ``hq-qiskit backends``.
        noise: class name of the fake backend whose target and noise model are used
            (e.g. "FakeBrisbane"); None means ideal. For runtime entries: the device's fake twin.
        device: IBM device name for runtime entries (e.g. "ibm_fez"); None otherwise.
        local: runtime only: always use the fake twin in local testing mode.
        shots: shots per circuit; 0 means "use ``precision``".
        precision: target standard error per expectation value; 0 is exact (ideal Aer only).
        optimization_level: preset pass manager level, 0..3.
        layout: "preset", "noise_aware" or "trivial".
        mitigation: requested error mitigation, a subset of ("trex", "zne", "twirling", "dd").
        mode: runtime execution mode: "batch", "session" or "job".
        seed_transpiler: transpiler seed (layouts and routing are reproducible).
        fractional_gates: runtime only: ask for a target with IBM's fractional gates RZZ(theta)
            and RX(theta) (``use_fractional_gates=True``); a device without them is refused,
            a fake twin without them is said in the output.
        device_model: Aer entries with ``noise``: how the exact noisy engine applies the
            device's noise. "logical" (default, and what a run recorded without the field
            used): the ISA circuit's errors attached to the logical circuit's gates
            (``device_noise.py``); "scheduled": the engine runs the block's own scheduled ISA
            circuit on its active qubits (``scheduled_noise.py``; exact, narrow blocks only).
    """

    name: str
    kind: str
    description: str = ""
    noise: str | None = None
    device: str | None = None
    local: bool = False
    shots: int = 0
    precision: float = 0.0
    optimization_level: int = 1
    layout: str = "preset"
    mitigation: tuple[str, ...] = ()
    mode: str = "batch"
    seed_transpiler: int = 0
    fractional_gates: bool = False
    device_model: str = "logical"

    @property
    def is_noisy(self) -> bool:
        """True when values carry device noise (a noise model or a device)."""
        return self.noise is not None or self.kind == "runtime"

    @property
    def is_exact(self) -> bool:
        """True for an ideal simulator at precision 0 and no shots."""
        return self.kind == "aer" and self.noise is None and self.shots == 0 and self.precision == 0

    def to_dict(self) -> dict[str, object]:
        """The entry as JSON types, defaults left out: what a run's config.json stores so the
        run rebuilds on any machine without reading that machine's ``backends.toml``."""
        out: dict[str, object] = {"name": self.name, "kind": self.kind}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name not in out and value != f.default:
                out[f.name] = list(value) if isinstance(value, tuple) else value
        if (
            self.kind == "aer" and self.noise is not None
        ):  # a result says which device model gave its values
            out["device_model"] = self.device_model
        return out

    @classmethod
    def from_dict(cls, data: dict[str, object], where: str) -> Backend:
        """Rebuild from ``to_dict`` output, validated as a ``backends.toml`` entry would be;
        ``where`` names the file in errors (e.g. a run's config.json)."""
        table = {k: v for k, v in data.items() if k != "name"}
        return _parse_entry(Path(where), str(data.get("name", "?")), table)

    def fake_backend(self):
        """The fake backend instance named by ``noise`` (qiskit-ibm-runtime's fake provider)."""
        if self.noise is None:
            raise ConfigError(f"backend {self.name!r} is ideal: it has no device or noise model")
        return fake_backend(self.noise)


# key -> (accepted python types, description of accepted values for the error message)
_SCHEMA: dict[str, tuple[tuple[type, ...], str]] = {
    "kind": ((str,), " or ".join(repr(k) for k in KIND_NAMES)),
    "description": ((str,), "a string"),
    "noise": ((str,), "a fake backend class name such as 'FakeBrisbane'"),
    "device": ((str,), "an IBM device name such as 'ibm_fez'"),
    "local": ((bool,), "true or false"),
    "shots": ((int,), "an integer >= 0"),
    "precision": ((float, int), "a number >= 0"),
    "optimization_level": ((int,), "0, 1, 2 or 3"),
    "layout": ((str,), ", ".join(repr(v) for v in LAYOUTS)),
    "mitigation": ((list,), f"a list of {', '.join(repr(v) for v in MITIGATIONS)}"),
    "mode": ((str,), ", ".join(repr(v) for v in MODES)),
    "seed_transpiler": ((int,), "an integer"),
    "fractional_gates": ((bool,), "true or false"),
    "device_model": ((str,), ", ".join(repr(v) for v in DEVICE_MODELS)),
}


@lru_cache(maxsize=1)
def shots_label(shots: int | None) -> str:
    """How quantum blocks are sampled, in words: None is an ideal (exact) backend, 0 a noisy
    one's exact noisy values, n its shots per Pauli term."""
    if shots is None:
        return "exact"
    return "exact noisy values, no shot noise" if shots == 0 else f"{shots} shots per Pauli term"


def fake_backend_names() -> tuple[str, ...]:
    """Class names of qiskit-ibm-runtime's fake backends (FakeBrisbane, FakeFez, ...), sorted.

    Read from ``fake_provider/backends/__init__.py`` without importing it (importing the
    fake provider takes seconds), so every load of backends.toml can check its ``noise``
    keys; falls back to importing when that file is not where it is expected.
    """
    import ast
    from importlib.util import find_spec

    spec = find_spec("qiskit_ibm_runtime")
    folders = list(spec.submodule_search_locations or []) if spec else []
    for folder in folders:
        init = Path(folder) / "fake_provider" / "backends" / "__init__.py"
        if init.is_file():
            tree = ast.parse(init.read_text(encoding="utf-8"))
            names = {
                alias.asname or alias.name
                for node in tree.body
                if isinstance(node, ast.ImportFrom)
                for alias in node.names
            }
            return tuple(sorted(n for n in names if n.startswith("Fake")))
    from qiskit_ibm_runtime import fake_provider

    return tuple(
        sorted(n for n in dir(fake_provider) if n.startswith("Fake") and "Provider" not in n)
    )


def _unknown_fake(class_name: str) -> str:
    """``'FakeBrisbaen' is not a fake backend of qiskit_ibm_runtime.fake_provider; ...``."""
    import difflib

    valid = fake_backend_names()
    near = difflib.get_close_matches(class_name, valid, n=1)
    hint = f"did you mean {near[0]!r}? " if near else ""
    return (
        f"{class_name!r} is not a fake backend of qiskit_ibm_runtime.fake_provider; {hint}"
        f"accepted ({len(valid)}): {', '.join(valid)}"
    )


# fake class name -> the warnings qiskit-ibm-runtime issued while building it (FakeNighthawk:
# its error values are not representative; the runtime says so once per process)
CAVEATS: dict[str, list[str]] = {}


def record_caveats(class_name: str, caught: list[warnings.WarningMessage]) -> None:
    """Keep in ``CAVEATS`` what qiskit-ibm-runtime itself warned while building a fake; a
    stray warning of the same moment (a ResourceWarning of an object collected then) is not
    the fake's caveat."""
    for w in caught:
        if "qiskit_ibm_runtime" in w.filename:
            said = CAVEATS.setdefault(class_name, [])
            if str(w.message) not in said:
                said.append(str(w.message))


def fake_backend(class_name: str):
    """Instantiate ``qiskit_ibm_runtime.fake_provider.<class_name>``; ConfigError if unknown."""
    from qiskit_ibm_runtime import fake_provider

    cls = getattr(fake_provider, class_name, None)
    if cls is None or not class_name.startswith("Fake"):
        raise ConfigError(_unknown_fake(class_name))
    module = sys.modules.get(cls.__module__)
    if module is not None and getattr(module, "DISPLAY_WARNING", None) is False:
        # the runtime warns once per process (a module flag); a fake built elsewhere first
        # (the runtime's local service lists them all) would leave its caveat unrecorded
        module.DISPLAY_WARNING = True
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fake = cls()
    record_caveats(class_name, caught)
    for w in caught:  # passed on, never silenced; fleet.fake_caveats repeats them in the output
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    # the runtime warns once per process: later builds repeat what it said (whatever else
    # this build warned about)
    said_now = {str(w.message) for w in caught}
    for message in CAVEATS.get(class_name, []):
        if message not in said_now:
            warnings.warn(message, UserWarning, stacklevel=2)
    return fake


def default_path() -> Path:
    """The backends file used when none is given (see the module docstring for the order)."""
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env)
    root = Path(__file__).resolve().parents[2]
    if (root / "pyproject.toml").is_file() and (root / "backends.toml").is_file():
        return root / "backends.toml"
    return Path(str(resources.files("hq_qiskit.hardware") / "backends.toml"))


def _check(where: str, key: str, value: object) -> None:
    """Raise ConfigError unless ``value`` has the type and range accepted for ``key``."""
    types, accepted = _SCHEMA[key]
    ok = isinstance(value, types) and not (isinstance(value, bool) and bool not in types)
    if ok and key == "kind":
        ok = value in KIND_NAMES
    elif ok and key == "layout":
        ok = value in LAYOUTS
    elif ok and key == "mode":
        ok = value in MODES
    elif ok and key == "device_model":
        ok = value in DEVICE_MODELS
    elif ok and key == "optimization_level":
        ok = value in (0, 1, 2, 3)
    elif ok and key in ("shots", "precision"):
        ok = value >= 0
    elif ok and key == "mitigation":
        ok = all(isinstance(m, str) and m in MITIGATIONS for m in value)
    if not ok:
        raise ConfigError(f"{where} key {key!r} has value {value!r}; accepted: {accepted}")


def _parse_entry(path: Path, name: str, table: object) -> Backend:
    """One ``[name]`` table -> Backend, validated."""
    where = f"{path}: [{name}]"
    if not isinstance(table, dict):
        raise ConfigError(f"{where} must be a table of keys; accepted keys: {', '.join(_SCHEMA)}")
    table = {k: v for k, v in table.items() if k not in RETIRED_KEYS}
    for key, value in table.items():
        if key not in _SCHEMA:
            raise ConfigError(f"{where} unknown key {key!r}; accepted: {', '.join(_SCHEMA)}")
        _check(where, key, value)
    if "noise" in table and table["noise"] not in fake_backend_names():
        raise ConfigError(f"{where} key 'noise': {_unknown_fake(table['noise'])}")
    if "kind" not in table:
        raise ConfigError(f"{where} missing key 'kind'; accepted: {_SCHEMA['kind'][1]}")
    values = dict(table)
    if "mitigation" in values:
        values["mitigation"] = tuple(values["mitigation"])
    if "precision" in values:
        values["precision"] = float(values["precision"])
    backend = Backend(name=name, **values)
    if backend.kind == "runtime":
        if backend.noise is None:
            raise ConfigError(
                f"{where} a runtime entry needs key 'noise' (its fake twin, e.g. "
                "'FakeFez') for local testing mode and reports"
            )
        if backend.device is None and not backend.local:
            raise ConfigError(
                f"{where} a runtime entry needs key 'device' (e.g. 'ibm_fez') or local = true"
            )
        if backend.shots == 0 and backend.precision == 0:
            raise ConfigError(f"{where} a runtime entry needs shots > 0 or precision > 0")
    elif "device_model" in table and backend.noise is None:
        raise ConfigError(
            f"{where} key 'device_model' applies to a noisy entry only; set 'noise' "
            "(e.g. 'FakeFez') or remove it"
        )
    if backend.kind != "aer" and "device_model" in table:
        raise ConfigError(f"{where} key 'device_model' applies to kind 'aer' only; remove it")
    if backend.kind == "aer":
        for key in ("device", "local", "mitigation", "mode", "fractional_gates"):
            if key in table:
                raise ConfigError(
                    f"{where} key {key!r} applies to kind 'runtime' only; "
                    "remove it or set kind = 'runtime'"
                )
    return backend


@lru_cache(maxsize=8)
def _load(path: Path, mtime_ns: int) -> dict[str, Backend]:
    try:
        with path.open("rb") as fh:
            raw = tomllib.load(fh)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: not valid TOML ({err}); fix the syntax") from err
    except UnicodeDecodeError as err:
        raise ConfigError(
            f"{path}: not UTF-8 text (byte {err.start}: {err.reason}); TOML files are UTF-8, "
            "save it as UTF-8 (e.g. iconv -f latin1 -t utf-8)"
        ) from None
    if not raw:
        raise ConfigError(f"{path}: no backends defined; add at least one [name] table")
    return {name: _parse_entry(path, name, table) for name, table in raw.items()}


def load_backends(path: str | Path | None = None) -> dict[str, Backend]:
    """Read and validate every entry of a backends file; name -> Backend, in file order."""
    path = Path(path) if path is not None else default_path()
    if not path.is_file():
        raise ConfigError(
            f"backends file {path} not found; pass an existing backends.toml or unset {ENV_VAR}"
        )
    return dict(_load(path.resolve(), path.stat().st_mtime_ns))


def get_backend(name: str, path: str | Path | None = None) -> Backend:
    """The entry called ``name``; ConfigError listing the valid names if there is none."""
    backends = load_backends(path)
    if name not in backends:
        file = Path(path) if path is not None else default_path()
        raise ConfigError(
            f"unknown backend {name!r} in {file}; choose one of {', '.join(sorted(backends))}"
        )
    return backends[name]


BACKEND_FIELDS = tuple(f.name for f in fields(Backend))
