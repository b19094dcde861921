"""Run one Dask task per named item; retry each once; collect what failed, by name.

A task that raises is run again (``retries=1``); one that fails again (or kills its worker
too often, see ``client.py``) is reported with its name and error, and the other tasks go on.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

RETRIES = 1


@dataclass
class Outcome:
    """What a batch of tasks gave: results and failures, each keyed by the item's name."""

    results: dict[str, Any] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)


def run_tasks(
    client: Any,
    fn: Callable[..., Any],
    items: Sequence[tuple[str, tuple]],
    *,
    on_done: Callable[[str, Any, str | None], None] | None = None,
    retries: int = RETRIES,
) -> Outcome:
    """Run ``fn(*args)`` for each ``(name, args)`` of ``items`` on ``client``'s cluster; a
    task that raises runs again up to ``retries`` times.

    ``on_done(name, result, error)`` is called as each task ends (error is None on success,
    else "ExceptionType: message"); the returned ``Outcome`` holds them all.
    """
    from distributed import as_completed

    run = uuid.uuid4().hex[:8]  # keys unique across calls on one long-lived scheduler
    futures = {}
    for name, args in items:
        key = f"{fn.__name__}-{name}-{run}"
        future = client.submit(fn, *args, key=key, retries=retries)
        futures[future] = name
    outcome = Outcome()
    for future in as_completed(futures):
        name = futures[future]
        if future.status == "finished":
            outcome.results[name] = future.result()
            error = None
        else:
            exc = future.exception()
            error = f"{type(exc).__name__}: {exc}"
            outcome.failures[name] = error
        if on_done is not None:
            on_done(name, outcome.results.get(name), error)
        future.release()
    return outcome
