"""Trust in a results folder: exact resume after kill -9, claims between processes, bitwise
determinism, and the plan's grouping, splitting and checkpoint-preserving composition."""

from __future__ import annotations

import json
import math
import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from budgets import QUICK

from ganbench.config import load_suite
from ganbench.results.claims import Claim
from ganbench.run import checkpoint as cp
from ganbench.run.checkpoint import Checkpointing
from ganbench.run.compile import compile_group
from ganbench.run.loop import train_group
from ganbench.run.plan import Group, make_plan, split_groups
from ganbench.run.progress import NullProgress
from ganbench.run.record import RunRecord
from ganbench.run.schedule import run_plan

ONE_VARIANT = """
[[variants]]
name = "ns"
loss = "non_saturating"
"""

TWO_VARIANTS = (
    ONE_VARIANT
    + """
[[variants]]
name = "wgan-gp"
loss = "wasserstein"
penalty = { name = "gp", weight = 10.0 }
"""
)


def _devices(n: int):
    import jax

    return jax.local_devices()[:n]


def _folder_metrics(root: Path) -> dict[str, pd.DataFrame]:
    runs = sorted((root / "tiny" / "runs").iterdir())
    assert runs and not any(p.name.startswith(".") for p in runs)
    return {p.name: pd.read_parquet(p / "metrics.parquet") for p in runs}


def _folder_samples(root: Path) -> dict[str, dict[str, np.ndarray]]:
    out = {}
    for p in sorted((root / "tiny" / "runs").iterdir()):
        with np.load(p / "samples.npz", allow_pickle=False) as z:
            out[p.name] = {k: z[k] for k in z.files}
    return out


def _assert_identical(a: Path, b: Path) -> None:
    ma, mb = _folder_metrics(a), _folder_metrics(b)
    assert ma.keys() == mb.keys()
    for run_id in ma:
        pd.testing.assert_frame_equal(ma[run_id], mb[run_id], check_exact=True)
    sa, sb = _folder_samples(a), _folder_samples(b)
    for run_id in sa:
        assert sa[run_id].keys() == sb[run_id].keys()
        for k in sa[run_id]:
            np.testing.assert_array_equal(sa[run_id][k], sb[run_id][k])


# --------------------------------------------------------------------------- determinism


def test_the_same_suite_twice_gives_bitwise_identical_results(write_suite, tmp_path):
    suite = load_suite(write_suite(ONE_VARIANT))
    for name in ("a", "b"):
        summary = run_plan(make_plan(suite, tmp_path / name), devices=_devices(2))
        assert summary.completed == 2
    _assert_identical(tmp_path / "a", tmp_path / "b")


def test_exact_runs_do_not_depend_on_their_group_or_the_device_count(write_suite):
    suite = load_suite(write_suite(TWO_VARIANTS.split("[[variants]]")[0] + ONE_VARIANT), seeds=3)
    runs = suite.runs
    results = []
    # Alone on one device, and one of three runs sharded over two: group and device count
    # differ at once (the slow run also checks four devices through the command).
    for members, n_dev in ((runs[:1], 1), (runs, 2)):
        records, timing = train_group(
            Group("g", members), devices=_devices(n_dev), progress=NullProgress(), exact=True
        )
        assert timing["exact_runs"] is True
        results.append(records[0])
    for other in results[1:]:
        assert repr(other.rows) == repr(results[0].rows)  # bit for bit, nan included
        np.testing.assert_array_equal(other.final, results[0].final)


@pytest.mark.slow  # subprocesses or threads of full runs: see `nox -s slow`
def test_groups_smaller_than_the_device_count_run_side_by_side(write_suite, tmp_path):
    suite = load_suite(write_suite(TWO_VARIANTS), seeds=1)
    summary = run_plan(make_plan(suite, tmp_path / "two"), devices=_devices(2))
    assert summary.completed == 2
    run_plan(make_plan(suite, tmp_path / "one"), devices=_devices(1))  # one after the other
    _assert_identical(tmp_path / "one", tmp_path / "two")
    manifests = [
        json.loads((p / "manifest.json").read_text())
        for p in (tmp_path / "two" / "tiny" / "runs").iterdir()
        if "-" not in p.name  # the data and chance rows beside them train nothing
    ]
    assert [m["timing"]["group_devices"] for m in manifests] == [1, 1]
    (a, b) = sorted((m["timing"]["started"], m["timing"]["finished"]) for m in manifests)
    assert b[0] <= a[1]  # the second group started before the first finished


@pytest.mark.slow  # subprocesses or threads of full runs: see `nox -s slow`
def test_four_host_devices_with_exact_runs_match_one_device(write_suite, tmp_path):
    """The CLI in fresh processes (XLA's device count is fixed when JAX starts): 3 runs per
    group sharded over 4 host devices, and over 1, give identical results with --exact-runs."""
    path = write_suite(TWO_VARIANTS)
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    env.pop("XLA_FLAGS", None)
    for n in (4, 1):
        args = ["--out", str(tmp_path / str(n)), "--no-report", "--seeds", "3", "--exact-runs"]
        res = subprocess.run(
            _cli("run", str(path), *args, "--host-devices", str(n)),
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert res.returncode == 0, res.stderr
        assert f"on {n} cpu device(s)" in res.stderr
    _assert_identical(tmp_path / "4", tmp_path / "1")
    manifest = json.loads(
        next(
            p
            for p in (tmp_path / "4" / "tiny" / "runs").glob("*/manifest.json")
            if "-" not in p.parent.name  # a training run, not a data or chance row
        ).read_text()
    )
    assert manifest["timing"]["group_devices"] == 3 and manifest["timing"]["exact_runs"] is True


# --------------------------------------------------------------------------- checkpoints


def test_a_checkpoint_round_trips_state_keys_rows_and_files(write_suite, tmp_path):
    import jax

    from ganbench.run.compile import compile_group

    suite = load_suite(write_suite(ONE_VARIANT))
    group = Group("g", suite.runs)
    compiled = compile_group(group, devices=_devices(2))
    records = [RunRecord(spec) for spec in group.runs]
    records[0].rows = [(10, "modes", 3.0, None, 200), (10, "fd", math.nan, 200, 200)]
    records[0].rows.append((10, "x", math.inf, None, None))
    records[1].diverge(7)
    records[1].snapshots["step_10"] = np.arange(6, dtype=np.float32).reshape(3, 2)
    records[1].files["samples_step_10.png"] = b"\x89PNG\x00\x01"
    records[1].final = np.ones((4, 2), np.float32)
    path = tmp_path / "c.npz"
    cp.save(path, {"chunk": 1, "run_ids": [r.run_id for r in group.runs]}, compiled.state, records)

    saved = cp.read(path)
    assert saved.chunk == 1 and cp.read_header(path)["run_ids"] == saved.header["run_ids"]
    state = cp.restore_state(compiled.state, saved)
    a, b = jax.tree.leaves(compiled.state), jax.tree.leaves(state)
    for x, y in zip(a, b, strict=True):
        if jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key):
            x, y = jax.random.key_data(x), jax.random.key_data(y)
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
        assert x.sharding.is_equivalent_to(y.sharding, x.ndim)
    rec0, rec1 = saved.records
    assert rec0["rows"][0] == (10, "modes", 3.0, None, 200)
    assert math.isnan(rec0["rows"][1][2]) and rec0["rows"][2][2] == math.inf
    assert rec1["status"] == "diverged" and rec1["diverged_at"] == 7
    np.testing.assert_array_equal(rec1["snapshots"]["step_10"], records[1].snapshots["step_10"])
    assert rec1["files"] == {"samples_step_10.png": b"\x89PNG\x00\x01"}
    assert rec0["final"] is None and rec1["final"].shape == (4, 2)


class _Log(NullProgress):
    def __init__(self) -> None:
        self.lines: list[str] = []

    def log(self, message: str) -> None:
        self.lines.append(message)


def test_train_group_resumes_exactly_and_ignores_foreign_or_corrupt_checkpoints(
    write_suite, tmp_path
):
    text = TWO_VARIANTS.split("[[variants]]")[2]
    suite = load_suite(write_suite("[[variants]]" + text))  # wgan-gp: a penalty, 2 seeds
    group = Group("g", suite.runs)
    devices = _devices(2)
    whole, _ = train_group(group, devices=devices, progress=NullProgress())

    # A checkpoint after the first of two chunks, as a killed process leaves it.
    path = tmp_path / "ck.npz"
    ckpt = Checkpointing(path, every_seconds=0.0)
    first, _ = train_group(group, devices=devices, progress=NullProgress(), checkpointing=ckpt)
    assert cp.read_header(path)["chunk"] == 1  # the last chunk is not checkpointed
    killed = path.read_bytes()  # edited below, as hand edits would, each from this state
    log = _Log()
    resumed, _ = train_group(group, devices=devices, progress=log, checkpointing=ckpt)
    assert any("resuming" in line and "step 10" in line for line in log.lines)
    for a, b, c in zip(whole, first, resumed, strict=True):
        assert repr(a.rows) == repr(b.rows) == repr(c.rows)  # exact, nan included
        np.testing.assert_array_equal(a.final, c.final)

    # Written under another device count: ignored, with a message, and the result is the same.
    log = _Log()
    again, _ = train_group(group, devices=devices[:1], progress=log, checkpointing=ckpt)
    assert any("ignoring checkpoint" in line and "devices" in line for line in log.lines)
    assert [len(r.rows) for r in again] == [len(r.rows) for r in whole]

    # A corrupt file, and an edited header or record, which must not turn half-trained runs
    # into finished ones: each is ignored, and training starts afresh from the initial state
    # (``resume``, which train_group calls before its first chunk, as above).
    compiled = compile_group(group, devices=devices)
    cases = [
        (None, ""),  # not a zip
        (lambda h: h.update(chunk=2), "its chunk 2 is not one of 1..1"),
        (lambda h: h["records"][0].update(step=20), "is at step 20, the checkpoint at 10"),
        (lambda h: h["records"][1]["rows"].append([20, "modes", 8.0, None, 5]), "rows after"),
    ]
    for edit, message in cases:
        if edit is None:
            path.write_bytes(b"PK\x03\x04 not a zip")
        else:
            path.write_bytes(killed)
            _edit_header(path, edit)
        log, records = _Log(), [RunRecord(spec) for spec in group.runs]
        state, first = cp.resume(group, compiled, compiled.state, records, ckpt, log)
        assert any("ignoring checkpoint" in line and message in line for line in log.lines), log
        assert first == 0 and state is compiled.state  # afresh, from the initial state
        assert all(r.rows == [] and r.step == 0 for r in records)  # nothing restored


def _edit_header(path, edit) -> None:
    """Rewrite a checkpoint with its JSON header changed by ``edit`` (as a hand edit would)."""
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    header = json.loads(arrays[cp.HEADER].tobytes())
    edit(header)
    arrays[cp.HEADER] = np.frombuffer(json.dumps(header).encode(), np.uint8)
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)


SLOW_SUITE = """
[suite]
name = "tiny"
seeds = 2
steps = 1000
eval_every = 10

[defaults]
dataset = "ring8"
batch_size = 32
z_dim = 2
generator = { width = 16, depth = 1 }
discriminator = { width = 16, depth = 1 }
optimizer = { name = "adam", lr_g = 1e-3, lr_d = 1e-3, b1 = 0.5 }

[metrics]
samples = 200
snapshots = false

[[variants]]
name = "ns"
loss = "non_saturating"
"""


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-c", "from ganbench.cli import app; app()", *args]


def test_kill_9_then_run_again_resumes_to_identical_metrics(tmp_path):
    """`ganbench run` killed with SIGKILL after its first checkpoint, then run again, writes the
    metrics of a run never killed. Only the killed run needs a process of its own: the others
    train in this one, on the same 2 host devices, and the suite's chunk and init programs are
    those of TINY_SUITE's (eval_every 10), which this file has compiled already."""
    from typer.testing import CliRunner

    from ganbench.cli import app

    suite = tmp_path / "suite.toml"
    suite.write_text(SLOW_SUITE)
    common = ["--no-report", "--checkpoint-every", "0", "--host-devices", "2"]
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    env.pop("XLA_FLAGS", None)
    full = run_plan(make_plan(load_suite(suite), tmp_path / "full"), devices=_devices(2))
    assert full.completed == 2

    out = tmp_path / "killed"
    proc = subprocess.Popen(
        _cli("run", str(suite), "--out", str(out), *common),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    checkpoints = out / "tiny" / ".checkpoints"
    deadline = time.monotonic() + 300
    while not list(checkpoints.glob("*.npz")) and proc.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    assert not (out / "tiny" / "runs").exists() or not any(
        (p / "manifest.json").exists() and not p.name.startswith(".") and "-" not in p.name
        for p in (out / "tiny" / "runs").iterdir()  # data- and chance- rows train nothing
    )

    again = CliRunner().invoke(app, ["run", str(suite), "--out", str(out), *common])
    assert again.exit_code == 0, again.output
    assert "resume from a checkpoint" in again.output and "resuming" in again.output
    _assert_identical(tmp_path / "full", out)
    assert not list(checkpoints.iterdir())  # dropped once the runs are written


# --------------------------------------------------------------------------- claims


class _Holder:
    """Another process that holds run claims (or, with ``plan=True``, the planning lock) of a
    suite folder until it is killed."""

    def __init__(self, folder: Path, run_ids=(), *, plan: bool = False) -> None:
        code = f"""
            import sys, time
            from ganbench.results.claims import Claim, ClaimBook, PLAN_LOCK
            if {plan!r}:
                held = Claim({str(folder)!r}, PLAN_LOCK)
                assert held.acquire(block=True)
            else:
                held, _ = ClaimBook({str(folder)!r}).claim({list(run_ids)!r})
                assert held is not None
            print("held", flush=True)
            time.sleep(600)
            """
        self.proc = subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(code)], stdout=subprocess.PIPE, text=True
        )
        assert self.proc.stdout.readline().strip() == "held"

    def kill(self) -> None:  # kill -9: the operating system releases the locks
        if self.proc.returncode is None:
            self.proc.kill()
            self.proc.communicate()

    def __enter__(self) -> _Holder:
        return self

    def __exit__(self, *exc) -> None:
        self.kill()


def test_a_group_claimed_by_another_process_is_skipped_and_reported(write_suite, tmp_path):
    suite = load_suite(write_suite(TWO_VARIANTS))
    out = tmp_path / "out"
    plan = make_plan(suite, out)
    assert len(plan.groups) == 2
    held = plan.groups[0]
    with _Holder(plan.suite_folder, [r.run_id for r in held.runs]) as holder:
        log = _Log()
        summary = run_plan(plan, devices=_devices(2), progress=log)
        assert summary.claimed_elsewhere == 2 and summary.completed == 2
        assert any(f"being trained by process {holder.proc.pid}" in line for line in log.lines)
    # kill -9 released the claims: the next run trains the rest, and only the rest.
    plan = make_plan(suite, out)
    assert [g.id for g in plan.groups] == [held.id] and len(plan.skipped) == 2
    summary = run_plan(plan, devices=_devices(2))
    assert summary.completed == 2 and summary.claimed_elsewhere == 0


def test_runs_another_process_grouped_differently_are_each_trained_once(write_suite, tmp_path):
    """Claims are on runs, not groups: another process holding one run of this process's
    4-run group (it groups runs one by one, say) makes this process train the other three, in
    a group planned again, and leave the held one to its holder."""
    suite = load_suite(write_suite(ONE_VARIANT), seeds=4)
    out = tmp_path / "out"
    plan = make_plan(suite, out)
    plan.exact = True  # so that a run's numbers do not depend on its group
    assert [len(g.runs) for g in plan.groups] == [4]
    first, rest = suite.runs[0], suite.runs[1:]
    with _Holder(plan.suite_folder, [first.run_id]):
        log = _Log()
        summary = run_plan(plan, devices=_devices(2), progress=log)
        assert summary.completed == 3 and summary.claimed_elsewhere == 1
        assert any("3 run(s) not finished and not claimed" in line for line in log.lines)
        runs = plan.suite_folder / "runs"
        assert not (runs / first.run_id).exists()
        assert all((runs / r.run_id / "manifest.json").is_file() for r in rest)
        manifests = [json.loads((runs / r.run_id / "manifest.json").read_text()) for r in rest]
        assert [m["group"]["runs"] for m in manifests] == [3, 3, 3]  # trained together
    plan = make_plan(suite, out)  # the holder was killed: its run is free again
    assert [[r.run_id for r in g.runs] for g in plan.groups] == [[first.run_id]]
    plan.exact = True
    assert run_plan(plan, devices=_devices(2)).completed == 1
    # Trained in groups of 3 and 1, the runs are bit for bit those of one 4-run group.
    one = make_plan(suite, tmp_path / "one")
    one.exact = True
    assert run_plan(one, devices=_devices(2)).completed == 4
    _assert_identical(tmp_path / "one", out)


@pytest.mark.slow  # subprocesses or threads of full runs: see `nox -s slow`
def test_a_group_with_a_run_finished_meanwhile_is_planned_again(write_suite, tmp_path):
    """A run finished by another process between this process's plan and its claim is neither
    trained again nor overwritten: the group is left, and its other runs are planned again."""
    from ganbench.results.write import write_run

    suite = load_suite(write_suite(ONE_VARIANT), seeds=3)
    out = tmp_path / "out"
    plan = make_plan(suite, out)
    assert [len(g.runs) for g in plan.groups] == [3]
    first = suite.runs[0]
    theirs = {"schema": 1, "run_id": first.run_id, "suite": "tiny", "variant": "theirs"}
    theirs.update(seed=0, step=1, grid_point={}, config={"dataset": "ring8"}, status="completed")
    write_run(out, "tiny", first.run_id, theirs, [], {})
    log = _Log()
    summary = run_plan(plan, devices=_devices(2), progress=log)
    assert summary.completed == 2 and summary.claimed_elsewhere == 1
    assert any("1 of its runs were finished by another process" in x for x in log.lines)
    manifest = json.loads((plan.suite_folder / "runs" / first.run_id / "manifest.json").read_text())
    assert manifest["variant"] == "theirs"


@pytest.mark.slow  # subprocesses or threads of full runs: see `nox -s slow`
def test_a_process_done_with_its_share_trains_the_groups_nobody_has_claimed(write_suite, tmp_path):
    """Process 0 of 2 trains its share, then the other's groups that nobody claimed (a host
    that grouped runs by its own memory may have left them out of every share)."""
    suite = load_suite(write_suite(ONE_VARIANT), seeds=4)
    plan = make_plan(suite, tmp_path, max_runs=1, process=0, processes=2)
    assert len(plan.groups) == 2 and len(plan.elsewhere) == 2
    log = _Log()
    summary = run_plan(plan, devices=_devices(2), progress=log)
    assert summary.completed == 4 and summary.claimed_elsewhere == 0
    assert any("2 run(s) not finished and not claimed" in line for line in log.lines)


def test_claims_exclude_each_other_and_are_released(tmp_path):
    a, b = Claim(tmp_path, "g"), Claim(tmp_path, "g")
    assert a.acquire()
    # flock is per open file description: a second descriptor in this process conflicts too.
    assert not b.acquire() and f"process {os.getpid()}" in b.holder
    assert not a.is_free()
    a.release()
    assert a.is_free()
    with b:
        assert b.acquire()
    assert json.loads(b.path.read_text())["pid"] == os.getpid()


def test_claims_on_runs_are_all_or_nothing_and_taken_under_the_planning_lock(tmp_path):
    from ganbench.results.claims import ClaimBook

    book = ClaimBook(tmp_path)
    with _Holder(tmp_path, ["b"]):
        with book.planning():
            claims, holder = book.claim(["a", "b", "c"])
            assert claims is None and holder.startswith("process ")
            assert book.held(["a", "b", "c"]) == {"b"}  # "a" was let go again
            mine, _ = book.claim(["c", "a"])
            assert mine is not None and book.held(["a", "c"]) == {"a", "c"}
        mine.release()
        assert book.held(["a", "c"]) == set()
    entered = threading.Event()

    def plan() -> None:
        with book.planning():
            entered.set()

    with _Holder(tmp_path, plan=True) as holder:  # another process is planning
        threading.Thread(target=plan, daemon=True).start()
        assert not entered.wait(0.5)  # this one waits for it
        holder.kill()
        assert entered.wait(QUICK)


# --------------------------------------------------------------------------- plan


def test_plan_splits_groups_by_max_runs_and_keeps_a_checkpoints_composition(write_suite, tmp_path):
    suite = load_suite(write_suite(TWO_VARIANTS, text=None), seeds=5)
    plan = make_plan(suite, tmp_path, max_runs=2)
    assert [len(g.runs) for g in plan.groups] == [2, 2, 1, 2, 2, 1]
    assert [r.run_id for g in plan.groups for r in g.runs] == [r.run_id for r in suite.runs]
    assert len({g.id for g in plan.groups}) == 6

    # A checkpoint of a 3-run group whose first run has been written: the group keeps all three.
    ns = [r for r in suite.runs if r.variant == "ns"][:3]
    header = {"format": cp.FORMAT, "run_ids": [r.run_id for r in ns]}
    header.update(n_leaves=0, key_leaves=[], records=[])
    cp.save(cp.checkpoint_path(tmp_path / "tiny", "x"), header, [], [])
    from ganbench.results.write import write_run

    written = {"schema": 1, "run_id": ns[0].run_id, "suite": "tiny", "variant": "ns", "seed": 0}
    written.update(step=1, grid_point={}, config={"dataset": "ring8"}, status="completed")
    write_run(tmp_path, "tiny", ns[0].run_id, written, [], {})
    plan = make_plan(suite, tmp_path, max_runs=2)
    assert plan.resumed == 1
    assert [r.run_id for r in plan.groups[0].runs] == [r.run_id for r in ns]
    assert plan.groups[0].keep == {ns[0].run_id}
    assert [r.run_id for r in plan.groups[0].to_write] == [r.run_id for r in ns[1:]]
    assert ns[0] in plan.skipped and plan.todo == 10 - 1
    assert len(make_plan(suite, tmp_path, force=True).groups) == 2  # --force ignores it


def test_split_groups_is_deterministic_balanced_and_complete(write_suite):
    suite = load_suite(write_suite(TWO_VARIANTS), seeds=7)
    groups = make_plan(suite, Path("/nonexistent"), max_runs=1).groups
    shares = [split_groups(groups, p, 3)[0] for p in range(3)]
    ids = [g.id for share in shares for g in share]
    assert sorted(ids) == sorted(g.id for g in groups) and len(set(ids)) == len(ids)
    costs = [sum(g.cost for g in share) for share in shares]
    assert max(costs) - min(costs) <= max(g.cost for g in groups)
    assert [g.id for g in split_groups(groups, 1, 3)[0]] == [g.id for g in shares[1]]
    mine, others = split_groups(groups, 0, 1)
    assert mine == groups and others == []


@pytest.mark.parametrize("processes", [2, 3])
def test_every_process_of_a_split_plan_gets_a_disjoint_share(write_suite, tmp_path, processes):
    suite = load_suite(write_suite(TWO_VARIANTS), seeds=3)
    plans = [
        make_plan(suite, tmp_path, max_runs=2, process=p, processes=processes)
        for p in range(processes)
    ]
    seen = [r.run_id for plan in plans for g in plan.groups for r in g.runs]
    assert sorted(seen) == sorted(r.run_id for r in suite.runs)
    for plan in plans:
        assert len(plan.groups) + len(plan.elsewhere) == 4


# --------------------------------------------------------------------------- processes


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow  # subprocesses or threads of full runs: see `nox -s slow`
def test_two_processes_share_a_suite_and_match_one_process(write_suite, tmp_path):
    path = write_suite(TWO_VARIANTS)
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    env.pop("XLA_FLAGS", None)
    common = ["--host-devices", "2"]
    one = subprocess.run(
        _cli("run", str(path), "--out", str(tmp_path / "one"), "--no-report", *common),
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert one.returncode == 0, one.stderr
    port = _free_port()
    procs = [
        subprocess.Popen(
            _cli(
                "run",
                str(path),
                "--out",
                str(tmp_path / "two"),
                "--coordinator",
                f"127.0.0.1:{port}",
                "--num-processes",
                "2",
                "--process-id",
                str(i),
                *common,
            ),
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    outs = [p.communicate(timeout=600) for p in procs]
    for p, (_, stderr) in zip(procs, outs, strict=True):
        assert p.returncode == 0, stderr
    for i, (stdout, stderr) in enumerate(outs):
        assert f"process {i} of 2: tiny: 2 runs in 1 compiled groups" in stderr
        assert "1 groups on other processes" in stderr
        assert ("ns" in stdout and "wgan-gp" in stdout) == (i == 0)  # process 0 reports all
    _assert_identical(tmp_path / "one", tmp_path / "two")


@pytest.mark.slow  # subprocesses or threads of full runs: see `nox -s slow`
def test_two_processes_with_different_max_runs_train_every_run_once(write_suite, tmp_path):
    """Two `ganbench run` on one folder, one grouping runs by 3 and one by 1, released together
    (both wait on the planning lock this test holds until each has planned): every run is
    trained by exactly one of them, without a traceback, and with --exact-runs the folder is bit
    for bit that of one process."""
    path = write_suite(ONE_VARIANT)
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    env.pop("XLA_FLAGS", None)
    common = ["--no-report", "--seeds", "4", "--exact-runs", "--host-devices", "2"]
    one = subprocess.run(
        _cli("run", str(path), "--out", str(tmp_path / "one"), *common),
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert one.returncode == 0, one.stderr
    out = tmp_path / "two"
    with _Holder(out / "tiny", plan=True) as holder:
        procs = [
            subprocess.Popen(
                _cli("run", str(path), "--out", str(out), "--max-runs", n, *common),
                env=env,
                stderr=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                text=True,
            )
            for n in ("3", "1")
        ]
        heads = []
        for p in procs:  # each has planned (the plan line), and now waits for the lock
            heads.append(p.stderr.readline())
            assert "tiny: 4 runs in" in heads[-1], heads[-1] + p.stderr.read()
        holder.kill()
        errs = [head + p.communicate(timeout=600)[1] for head, p in zip(heads, procs, strict=True)]
    for p, err in zip(procs, errs, strict=True):
        assert p.returncode == 0 and "Traceback" not in err, err
    trained = [int(re.search(r"done in [0-9.]+s: (\d+) completed", e).group(1)) for e in errs]
    assert sum(trained) == 4, errs
    _assert_identical(tmp_path / "one", out)


def test_incomplete_multi_process_settings_exit_2(write_suite, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from ganbench.cli import app

    for var in ("JAX_COORDINATOR_ADDRESS", "JAX_NUM_PROCESSES", "JAX_PROCESS_ID"):
        monkeypatch.delenv(var, raising=False)
    path = str(write_suite(ONE_VARIANT))
    out = tmp_path / "out"
    runner = CliRunner()
    res = runner.invoke(app, ["run", path, "--out", str(out), "--num-processes", "2"])
    assert res.exit_code == 2
    assert "--coordinator (or $JAX_COORDINATOR_ADDRESS)" in res.output
    assert "--process-id (or $JAX_PROCESS_ID)" in res.output
    monkeypatch.setenv("JAX_PROCESS_ID", "5")
    res = runner.invoke(
        app, ["run", path, "--out", str(out), "--coordinator", "h:1", "--num-processes", "2"]
    )
    assert res.exit_code == 2 and "must be in [0, 1]" in res.output
    assert not out.exists()
