"""``ganbench env``: what ganbench would run on here (backend, devices, versions, folders), so a
user can confirm that a GPU or TPU install is used before starting a suite."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from ganbench.cli.console import out


def environment_report() -> dict[str, Any]:
    """The backend, devices, versions and folders ``ganbench run`` would use, as plain data."""
    import platform

    from ganbench.run.devices import configure_host_devices

    host_devices = configure_host_devices()  # as `run` does, before JAX is imported
    import flax
    import jax
    import jaxlib
    import numpy as np
    import optax

    from ganbench.data.store import data_dir, data_dir_source
    from ganbench.run import compile_cache
    from ganbench.run.memory import device_budget, gib
    from ganbench.version import __version__

    devices = jax.local_devices()
    cache = compile_cache.cache_dir()
    return {
        "ganbench": __version__,
        "python": platform.python_version(),
        "jax": jax.__version__,
        "jaxlib": jaxlib.__version__,
        "flax": flax.__version__,
        "optax": optax.__version__,
        "numpy": np.__version__,
        "backend": jax.default_backend(),
        "devices": [
            {"id": d.id, "platform": d.platform, "kind": d.device_kind, **_memory(d)}
            for d in devices
        ],
        "host_devices": host_devices,
        "memory_per_device": gib(device_budget(devices)) + " for runs",
        "compile_cache": str(cache) if cache is not None else None,
        "data_dir": f"{data_dir()} ({data_dir_source()})",
        "os": platform.platform(),
    }


def _memory(device) -> dict[str, Any]:
    try:
        stats = device.memory_stats() or {}
    except Exception:  # CPU devices and some plugins have none
        stats = {}
    limit = stats.get("bytes_limit")
    return {"memory_gib": round(limit / 2**30, 1)} if limit else {}


def env(
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the report as JSON (for scripts and issues).")
    ] = False,
) -> None:
    """Show the backend, devices, versions and folders that `ganbench run` would use.

    On a GPU machine the backend reads "gpu" and every device is listed; "cpu" there means the
    CUDA build of jax is not installed (see the README's GPU command).
    """
    report = environment_report()
    if as_json:
        out.print_json(json.dumps(report))
        return
    devices = report["devices"]
    kinds = sorted({f"{d['platform']} ({d['kind']})" for d in devices})
    width = max(len(k) for k in report) + 1
    for key, value in report.items():
        if key == "devices":
            value = f"{len(devices)} x " + ", ".join(kinds)
        elif key == "host_devices":
            if value is None:
                continue
            value = f"{value} (CPU split into one XLA device per core)"
        elif value is None:
            value = "off"
        out.print(f"{key + ':':<{width}} {value}", highlight=False, markup=False)
