"""JAX's Threefry-2x32 hash on XLA:CPU without a loop.

Every ``jax.random`` draw hashes its counters with Threefry-2x32 (20 rounds). On CPU, JAX lowers
the hash as a ``fori_loop`` of five iterations of four rounds, meant to keep compilation short;
every other backend gets the same rounds unrolled. In ganbench's programs the loops cost more
than they save: a group's init, chunk and evaluation draw dozens of times, each draw a ``while``
loop whose carried values XLA copies at every iteration, and compiling the loops (through the
SPMD partitioner) takes longer than compiling the straight-line rounds. Measured on a 2-core
x86-64 CPU, jax 0.10.2, the MoG benchmark's group (8 runs, 2 host devices): compile 5.7-5.8 s
rolled, 4.0-4.2 s unrolled (init 1.3 -> 0.7 s, evaluation 1.1 -> 0.5 s).

:func:`unroll_on_cpu` gives the CPU the unrolled lowering. The rounds, rotations and key
injections are the same, so the bits are the same (``tests/test_threefry.py`` checks Random123's
known-answer vectors and draws against the default lowering in a fresh process).

It reaches into JAX's internals (``jax._src``); where they have moved, nothing changes and draws
keep their default lowering.
"""

from __future__ import annotations

import functools

_done: bool | None = None


def _rule():
    from jax._src.interpreters import mlir

    try:  # jax >= 0.5
        from jax._src.random import threefry2x32 as impl
    except ImportError:  # jax 0.4
        from jax._src import prng as impl
    rule = mlir.lower_fun(
        functools.partial(impl._threefry2x32_lowering, use_rolled_loops=False),
        multiple_results=True,
    )
    return mlir, impl.threefry2x32_p, rule


def unroll_on_cpu() -> bool:
    """Lower Threefry-2x32 unrolled on CPU in programs lowered from now on; True when that took
    effect. Idempotent."""
    global _done
    if _done is None:
        try:
            mlir, prim, rule = _rule()
            mlir.register_lowering(prim, rule, platform="cpu")
            _done = True
        except (ImportError, AttributeError, TypeError):
            _done = False
    return _done
