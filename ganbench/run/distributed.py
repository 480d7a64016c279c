"""Several hosts (or processes) running one suite with ``jax.distributed``.

Every process loads the same suite, computes the same plan, and trains its own share of the
groups (:func:`ganbench.run.plan.split_groups`) on its local devices, writing its runs to
the shared results folder. Runs are independent, so no array crosses hosts while training; the
processes meet once at the end (``multihost_utils.sync_global_devices``) so that the suite is
complete when any of them returns, and process 0 then prints the suite's table.

The coordinator address, process count and process id come from ``ganbench run``'s flags, else
from ``JAX_COORDINATOR_ADDRESS``, ``JAX_NUM_PROCESSES`` and ``JAX_PROCESS_ID``; with
``--distributed`` and none of them, ``jax.distributed.initialize()`` detects the cluster itself
(SLURM, Open MPI, Cloud TPU pods and the other environments JAX supports).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from ganbench.errors import ConfigError

ENV = {
    "coordinator": "JAX_COORDINATOR_ADDRESS",
    "num_processes": "JAX_NUM_PROCESSES",
    "process_id": "JAX_PROCESS_ID",
}


@dataclass(frozen=True)
class Processes:
    index: int = 0
    count: int = 1

    @property
    def multi(self) -> bool:
        return self.count > 1


def _int_env(name: str) -> int | None:
    value = os.environ.get(name)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"${name} = {value!r} is not an integer") from None


def initialize(
    coordinator: str | None = None,
    num_processes: int | None = None,
    process_id: int | None = None,
    *,
    auto: bool = False,
    timeout_seconds: int = 300,
) -> Processes:
    """Join the processes of a multi-process run (before JAX touches a device).

    Returns this process's index and the process count; a single process when nothing asks for
    more. Inconsistent settings are a ConfigError (exit 2) naming the flags and variables.
    """
    coordinator = coordinator or os.environ.get(ENV["coordinator"]) or None
    if num_processes is None:
        num_processes = _int_env(ENV["num_processes"])
    if process_id is None:
        process_id = _int_env(ENV["process_id"])
    given = {
        "--coordinator": coordinator,
        "--num-processes": num_processes,
        "--process-id": process_id,
    }
    if all(v is None for v in given.values()) and not auto:
        return Processes()
    import jax

    if all(v is None for v in given.values()):
        jax.distributed.initialize(initialization_timeout=timeout_seconds)
    else:
        missing = [k for k, v in given.items() if v is None]
        if missing:
            names = ", ".join(f"{k} (or ${ENV[k[2:].replace('-', '_')]})" for k in missing)
            raise ConfigError(f"a multi-process run also needs {names}")
        if num_processes < 1 or not 0 <= process_id < num_processes:
            raise ConfigError(
                f"--process-id must be in [0, {num_processes - 1}] for --num-processes "
                f"{num_processes}, got {process_id}"
            )
        if ":" not in coordinator:
            raise ConfigError(f"--coordinator must be HOST:PORT, got {coordinator!r}")
        jax.distributed.initialize(
            coordinator_address=coordinator,
            num_processes=num_processes,
            process_id=process_id,
            initialization_timeout=timeout_seconds,
        )
    return Processes(jax.process_index(), jax.process_count())


def wait_for_all(name: str) -> None:
    """Block until every process of the run has called this with the same ``name``."""
    from jax.experimental import multihost_utils

    multihost_utils.sync_global_devices(name)
