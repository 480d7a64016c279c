"""Host-device set-up, done before JAX is imported.

On a CPU, XLA sees one device and one program of small matrices leaves the other cores mostly
idle. Splitting the host into one XLA device per core (``--xla_force_host_platform_device_count``)
lets the engine shard a group's runs over the cores. The flag only affects the CPU platform, so it
is harmless where a GPU or TPU is the default backend.
"""

from __future__ import annotations

import os
import sys

FLAG = "--xla_force_host_platform_device_count"
ENV_DEVICES = "GANBENCH_HOST_DEVICES"


def default_host_devices() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def configure_host_devices(n: int | None = None) -> int | None:
    """Ask XLA for ``n`` CPU devices (default: ``$GANBENCH_HOST_DEVICES`` or one per core).

    Returns the count set, or None when it cannot be set any more (JAX already imported, or
    ``XLA_FLAGS`` already names the flag, which the user's setting wins).
    """
    flags = os.environ.get("XLA_FLAGS", "")
    if FLAG in flags or "jax" in sys.modules:
        return None
    if n is None:
        env = os.environ.get(ENV_DEVICES)
        n = int(env) if env and env.isdigit() and int(env) > 0 else default_host_devices()
    os.environ["XLA_FLAGS"] = f"{flags} {FLAG}={n}".strip()
    return n
