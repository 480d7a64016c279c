"""Every registered item trains: a tiny suite per item, through the loader, the compiled engine
and the runner, must finish with finite diagnostics.

The examples are keyed by registry, so registering an item without an example here fails
``test_every_registered_item_has_an_example``. Each compiled variant costs seconds of XLA
compilation, so the default run trains the items together: ``COVER`` packs every non-image
item's example into a few combined variants, starting from the combinations of remedies (built
from the examples, so a new item joins one by itself); the slow run trains each item's example
on its own as well.
"""

from __future__ import annotations

import tomllib

import numpy as np
import pandas as pd
import pytest
import tomli_w

from ganbench.config import load_suite, load_suite_dict
from ganbench.data import DATASETS
from ganbench.errors import ConfigError
from ganbench.metrics import names as M
from ganbench.models import ACTIVATIONS, ARCHS
from ganbench.objectives import LOSSES, PENALTIES
from ganbench.results.read import read_results
from ganbench.run.plan import make_plan
from ganbench.run.schedule import run_plan
from ganbench.train.optim import OPTIMIZERS
from ganbench.train.schemes import SCHEMES, UPDATES

REGISTRIES = {
    "loss": LOSSES,
    "penalty": PENALTIES,
    "optimizer": OPTIMIZERS,
    "updates": UPDATES,
    "scheme": SCHEMES,
    "dataset": DATASETS,
    "arch": ARCHS,
    "activation": ACTIVATIONS,
}

NS = 'loss = "non_saturating"\n'
DIRAC = (
    'dataset = "dirac"\ngenerator = { arch = "point" }\n'
    'discriminator = { arch = "linear", init = 0.5 }\n'
)
WGAN = 'loss = "wasserstein"\n'
OPT = 'optimizer = {{ name = "{name}", lr_g = 1e-3, lr_d = 1e-3 }}\n'

EXAMPLES: dict[str, dict[str, str]] = {
    "loss": {name: f'loss = "{name}"\n' for name in LOSSES.names()},
    "penalty": {name: WGAN + f'penalty = {{ name = "{name}" }}\n' for name in PENALTIES.names()},
    "optimizer": {name: NS + OPT.format(name=name) for name in OPTIMIZERS.names()},
    "updates": {name: NS + f'updates = "{name}"\n' for name in UPDATES.names()},
    "scheme": {
        "ema": NS + "ema = { decay = 0.9 }\n",
        "instance_noise": NS + "instance_noise = { std = 0.5, anneal = 0.5 }\n",
        "consensus": NS + 'updates = "simultaneous"\nconsensus = { weight = 1.0 }\n',
        "unroll": NS + "unroll = 2\n",
        "pack": NS + "pack = 2\n",
        "ttur": NS + 'optimizer = { name = "adam", lr_g = 1e-4, lr_d = 4e-4 }\n',
    },
    "dataset": {
        **{
            name: NS + f'dataset = "{name}"\nweights = "geometric:0.8"\n'
            for name in DATASETS.names()
        },
        "dirac": NS + DIRAC,
        # Images (a tiny MNIST written by the test): MLPs on the flattened pixels.
        "mnist": NS + 'dataset = "mnist"\n',
        "stacked_mnist": NS + 'dataset = "stacked_mnist"\n',
        "cifar10": NS + 'dataset = "cifar10"\n',  # a stand-in written by the test
    },
    "arch": {
        "dcgan": NS + 'dataset = "mnist"\ngenerator = { arch = "dcgan", channels = 4 }\n'
        'discriminator = { arch = "dcgan", channels = 4 }\n',
        "dcgan_veegan": NS + 'dataset = "stacked_mnist"\n'
        'generator = { arch = "dcgan_veegan", channels = 4 }\n'
        'discriminator = { arch = "dcgan_veegan", channels = 4 }\n',
        **{
            name: NS + 'dataset = "cifar10"\n'
            f'generator = {{ arch = "{name}", channels = 2 }}\n'
            f'discriminator = {{ arch = "{name}", channels = 2 }}\n'
            for name in ("dcgan_radford", "sngan_cnn", "resnet_wgan_gp", "resnet_sngan")
        },
        "mlp": NS + 'generator = { arch = "mlp" }\n',
        "bn_mlp": NS + 'generator = { arch = "bn_mlp", width = 8, depth = 2 }\n',
        "maxout": NS + 'discriminator = { arch = "maxout", width = 8, depth = 2, pieces = 3 }\n',
        "point": NS + 'generator = { arch = "point", init = 0.5 }\n',  # a point on ring8
        "linear": NS + DIRAC,
    },
    "activation": {
        name: NS + f'discriminator = {{ activation = "{name}" }}\n' for name in ACTIVATIONS.names()
    },
}

CASES = [(kind, name) for kind, table in EXAMPLES.items() for name in table]


def test_every_registered_item_has_an_example():
    for kind, registry in REGISTRIES.items():
        assert sorted(EXAMPLES[kind]) == registry.names(), kind


HEAD = """
[suite]
name = "item"
seeds = 1
steps = 4
eval_every = 2

[defaults]
dataset = "ring8"
batch_size = 16
z_dim = 2
generator = {{ width = 8, depth = 1 }}
discriminator = {{ width = 8, depth = 1 }}
optimizer = {{ name = "adam", lr_g = 1e-3, lr_d = 1e-3 }}

[metrics]
samples = 64
"""

SUITE = (
    HEAD
    + """
[[variants]]
name = "item"
{body}
"""
)


IMAGE_CASES = {
    ("arch", "dcgan"),
    ("arch", "dcgan_veegan"),
    ("arch", "dcgan_radford"),
    ("arch", "sngan_cnn"),
    ("arch", "resnet_wgan_gp"),
    ("arch", "resnet_sngan"),
    ("dataset", "mnist"),
    ("dataset", "stacked_mnist"),
    ("dataset", "cifar10"),
}
"""Image items compile convolutional programs (15-25 s each on a 2-core CPU): marked slow here;
the default run trains them in tests/test_images_engine.py."""


SHARED = [case for case in CASES if case not in IMAGE_CASES]
"""The items trained together as the variants of one suite (see ``trained``)."""


def _variant(kind: str, name: str) -> str:
    return f"{kind}_{name}"


def _context(kind: str) -> set[str]:
    """The keys an example of ``kind`` sets only as its item's setting, not as the item: every
    example but a loss's names a loss to train with, and any loss serves in a combined variant."""
    return set() if kind == "loss" else {"loss"}


def _combine(body: dict, context: set[str], item: dict, item_context: set[str]):
    """``item``'s keys added to a variant's ``body`` (whose ``context`` keys another item may
    override), as the new body and context; None where both set a key to different values."""
    out, context = dict(body), set(context)
    for key, value in item.items():
        if key not in out:
            out[key] = value
            if key in item_context:
                context.add(key)
        elif isinstance(value, dict) and isinstance(out[key], dict):
            merged = _combine(out[key], set(), value, set())
            if merged is None:
                return None
            out[key] = merged[0]
        elif key in item_context:
            continue  # the variant's own value (item or context) serves this item as well
        elif out[key] == value or key in context:
            out[key] = value
            context.discard(key)
        else:
            return None
    return out, context


HEAD_DOCUMENT = tomllib.loads(HEAD.format())


def _loads(body: dict) -> bool:
    """Whether the suite loader accepts ``body`` as a variant (items constrain one another)."""
    document = {**HEAD_DOCUMENT, "variants": [{"name": "cover", **body}]}
    try:
        load_suite_dict(document)
    except ConfigError:
        return False
    return True


COMBINATIONS = {
    "joint": (
        'loss = "wasserstein_clip"\nclip = 0.05\nupdates = "extragradient"\n'
        "consensus = { weight = 0.5 }\nema = { decay = 0.9 }\ninstance_noise = { std = 0.1 }\n"
        'pack = 2\npenalty = { name = "r1", weight = 1.0 }\nweights = "longtail:10"\n'
        'optimizer = { name = "optimistic_adam", lr_g = 1e-3, lr_d = 1e-3 }\n'
    ),
    "unrolled": (
        'loss = "least_squares"\nupdates = "simultaneous"\nunroll = 1\npack = 2\n'
        'penalty = { name = "dragan" }\ndiscriminator = { spectral_norm = true }\n'
        "ema = { decay = 0.5, start = 1 }\n"
    ),
    "alternating": (
        'loss = "hinge"\nn_critic = 2\nunroll = 1\ninstance_noise = { std = 0.2, anneal = 0 }\n'
        'penalty = { name = "gp_one_sided", weight = 1.0 }\n'
        'optimizer = { name = "rmsprop", lr_g = 1e-3, lr_d = 1e-3 }\n'
    ),
}
"""Remedies trained together, each a variant of its own in ``COVER`` (other items join it):
they must compose (``test_remedies_compose``). "unrolled" unrolls one D step (the unroll
item's example, two steps, joins another variant): one step less to compile (10.7 s to 8.3 s
for the variant alone, 2-core CPU)."""


def _cover(
    cases: list[tuple[str, str]], start: dict[str, str]
) -> list[tuple[str, list[tuple[str, str]], dict]]:
    """Every case's example in one of a few combined variants, as (the variant's name, the
    items, its body). The variants of ``start`` (name: TOML body) come first; each item joins
    the variant with the fewest items that it does not contradict and that the suite loader
    still accepts with it, else opens a variant of its own."""
    cover: list[list] = [[[], tomllib.loads(body), set(), name] for name, body in start.items()]
    for kind, name in cases:
        item = tomllib.loads(EXAMPLES[kind][name])
        for variant in sorted(cover, key=lambda v: len(v[0])):
            merged = _combine(variant[1], variant[2], item, _context(kind))
            if merged is not None and _loads(merged[0]):
                variant[0].append((kind, name))
                variant[1:3] = merged
                break
        else:
            cover.append([[(kind, name)], item, _context(kind) & set(item), None])
    return [(name or f"cover_{i}", items, body) for i, (items, body, _, name) in enumerate(cover)]


COVER = _cover(SHARED, COMBINATIONS)
"""The default run's variants: together they train every non-image item and every combination
(9 variants for the items registered today, each loss needing a variant of its own, against 45
trained one per item by the slow run)."""


def _cover_id(name: str, items: list[tuple[str, str]]) -> str:
    return "+".join([name] * (name in COMBINATIONS) + [item for _, item in items])


def test_every_registered_item_is_covered():
    registered = {(kind, name) for kind, table in REGISTRIES.items() for name in table.names()}
    covered = [case for _, items, _ in COVER for case in items]
    assert sorted(covered) == sorted(registered - IMAGE_CASES)
    assert registered >= IMAGE_CASES
    assert len(COVER) <= 14  # combined variants, not one per item
    for name, body in COMBINATIONS.items():  # each combination whole in its variant
        (variant,) = [b for n, _, b in COVER if n == name]
        assert _contains(variant, tomllib.loads(body)), name
    for _, items, body in COVER:  # each item's own keys are in its variant as its example has
        for kind, name in items:
            example = tomllib.loads(EXAMPLES[kind][name])
            for key in example.keys() - _context(kind):
                assert _contains(body[key], example[key]), (kind, name, key)


def _contains(value, part) -> bool:
    if isinstance(part, dict):
        return isinstance(value, dict) and all(
            k in value and _contains(value[k], v) for k, v in part.items()
        )
    return value == part


def _train(folder, variants: list[tuple[str, dict]]):
    """The variants, each the defaults plus its body, as one suite trained through the loader,
    plan, engine and runner: its summary and results."""
    document = {**HEAD_DOCUMENT, "variants": [{"name": n, **body} for n, body in variants]}
    path = folder / "suite.toml"
    path.write_text(tomli_w.dumps(document))
    summary = run_plan(make_plan(load_suite(path), folder / "out"), devices=_devices(1))
    return summary, read_results(folder / "out")


@pytest.fixture(scope="module")
def covered(tmp_path_factory):
    """The ``COVER`` variants (every non-image item and every combination of remedies), as the
    variants of a single suite trained once for the module."""
    variants = [(name, body) for name, _, body in COVER]
    return _train(tmp_path_factory.mktemp("cover"), variants)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Every non-image item's example, each as one variant of a single suite, trained once for
    the module (the slow run): the same configurations (each variant is the defaults plus its
    own keys) through the same loader, plan, engine and runner as a suite per item, with the
    chance rows drawn once instead of once per item."""
    variants = [(_variant(k, n), tomllib.loads(EXAMPLES[k][n])) for k, n in SHARED]
    return _train(tmp_path_factory.mktemp("items"), variants)


def _own_run(trained, variant: str) -> pd.DataFrame:
    """The metrics of ``variant``'s one run, which completed."""
    summary, results = trained
    runs = results.runs[results.runs["variant"] == variant]
    assert list(runs["status"]) == ["completed"], (variant, summary.failures)
    assert not [f for f in summary.failures if runs["run_id"].iloc[0] in f]
    metrics = results.metrics
    return metrics[metrics["variant"] == variant]


def _assert_finite_diagnostics(values: dict, *, dirac: bool, ema: bool, image=False, cifar=False):
    """The final training statistics and the sample metrics of the run's data set are finite
    (of the averaged generator too, where the run keeps one)."""
    sample_metrics = (M.EQ_THETA, M.EQ_DISTANCE) if dirac else (M.HQ_FRACTION, M.FD)
    if image:
        sample_metrics = (M.FID_MNIST, M.KID_MNIST, M.CLASSES)
    if cifar:  # no classifier of CIFAR-10 yet, no Inception weights: training statistics only
        sample_metrics = ()
    for metric in (M.LOSS_D, M.LOSS_G, M.GRAD_NORM_D + "_mean", *sample_metrics):
        assert np.isfinite(values[metric]), metric
    if ema:
        for metric in sample_metrics:
            assert np.isfinite(values[M.EMA_PREFIX + metric]), metric
        if not dirac:
            assert {M.EMA_PREFIX + M.MODES, M.EMA_PREFIX + M.REVERSE_KL} <= set(values)


def _final(metrics: pd.DataFrame) -> dict:
    final = metrics[metrics["step"] == 4]
    return dict(zip(final["metric"], final["value"], strict=True))


@pytest.mark.parametrize("index", range(len(COVER)), ids=[_cover_id(n, i) for n, i, _ in COVER])
def test_covered_items_train_through_the_engine(covered, index):
    name, _, body = COVER[index]
    values = _final(_own_run(covered, name))
    _assert_finite_diagnostics(values, dirac=body.get("dataset") == "dirac", ema="ema" in body)


@pytest.mark.slow  # the default run trains every non-image item in COVER's combined variants
@pytest.mark.parametrize(("kind", "name"), CASES, ids=[f"{k}:{n}" for k, n in CASES])
def test_item_trains_through_the_engine(tmp_path, kind, name, request):
    image = "mnist" in EXAMPLES[kind][name]
    cifar = "cifar10" in EXAMPLES[kind][name]
    if (kind, name) in IMAGE_CASES:  # a suite of its own, on a tiny data set written here
        request.getfixturevalue("tiny_cifar10" if cifar else "tiny_mnist")
        path = tmp_path / "suite.toml"
        path.write_text(SUITE.format(body=EXAMPLES[kind][name]))
        summary = run_plan(make_plan(load_suite(path), tmp_path / "out"), devices=_devices(1))
        assert (summary.completed, summary.failed, summary.failures) == (1, 0, [])
        metrics = read_results(tmp_path / "out").metrics
        metrics = metrics[~metrics["variant"].map(M.is_baseline_row)]
    else:
        metrics = _own_run(request.getfixturevalue("trained"), _variant(kind, name))
    dirac = "dirac" in EXAMPLES[kind][name]
    ema = kind == "scheme" and name == "ema"
    _assert_finite_diagnostics(_final(metrics), dirac=dirac, ema=ema, image=image, cifar=cifar)


def _devices(n):
    import jax

    return jax.local_devices()[:n]


def test_metrics_frame_is_long_format(covered):
    # The variant that trains the ema item (on a mixture: the mode metrics have EMA rows).
    (ema_item,) = [
        name
        for name, items, body in COVER
        if ("scheme", "ema") in items and body.get("dataset") != "dirac"
    ]
    frame = _own_run(covered, ema_item)
    assert isinstance(frame, pd.DataFrame)
    ema = frame[frame["metric"].str.startswith(M.EMA_PREFIX)]
    raw = frame[frame["metric"].isin([m[len(M.EMA_PREFIX) :] for m in ema["metric"]])]
    assert len(ema) == len(raw) > 0

    # The report shows the averaged generator as its own row beside the raw generator's.
    from ganbench.report import filter_results, summarize

    results = filter_results(covered[1], [f"variant={ema_item}"])
    split = results.with_ema_rows()
    assert list(split.runs["variant"]) == [ema_item, f"{ema_item} (EMA G)"]
    ema_run = split.metrics[split.metrics["run_id"].str.endswith("/ema")]
    expected = frame[frame["metric"] == M.EMA_PREFIX + M.MODES].sort_values("step")["value"]
    got = ema_run[ema_run["metric"] == M.MODES].sort_values("step")["value"]
    np.testing.assert_array_equal(got.to_numpy(), expected.to_numpy())
    assert not ema_run["metric"].str.startswith(M.EMA_PREFIX).any()
    assert M.LOSS_D not in set(ema_run["metric"])  # training statistics stay with the run
    summary = summarize(split)
    assert list(summary["variant"]) == [ema_item, f"{ema_item} (EMA G)"]
    assert summary.loc[1, "modes_mean"] == expected.iloc[-1]
    assert results.with_ema_rows().runs.shape[0] == 2 and results.runs.shape[0] == 1


@pytest.mark.parametrize("name", COMBINATIONS)
def test_remedies_compose(covered, name):
    metrics = covered[1].metrics
    references = metrics[metrics["variant"].map(M.is_baseline_row)]  # the data and chance rows
    assert not references.empty
    frame = pd.concat([_own_run(covered, name), references])
    # reverse_kl is NaN by definition when no sample is high quality (a 4-step GAN).
    frame = frame[~frame["metric"].str.endswith(M.REVERSE_KL)]
    bad = frame[~np.isfinite(frame["value"].to_numpy(dtype=float))]
    assert bad.empty, bad[["step", "metric", "value"]]


def _spectrum_suite(mode: str, extra: str = "") -> str:
    """The tiny game with a Jacobian spectrum and the layers' gradient norms, evaluated after
    every step (so that a chunk's mean norm is its one step's: see the layer test)."""
    text = SUITE.format(body=NS).replace("eval_every = 2", "eval_every = 1")
    return text.replace(
        "samples = 64", f'samples = 64\nlayer_grads = true\nspectrum = "{mode}"{extra}'
    )


def _item_final(frame: pd.DataFrame) -> dict:
    final = frame[(frame["step"] == 4) & (frame["variant"] == "item")]
    return dict(zip(final["metric"], final["value"], strict=True))


@pytest.fixture(scope="module")
def dense_spectrum(tmp_path_factory) -> pd.DataFrame:
    """The metrics of the tiny game trained with the dense spectrum and the layers' gradient
    norms (read by three tests: one compiled group instead of two)."""
    folder = tmp_path_factory.mktemp("dense")
    (folder / "dense.toml").write_text(_spectrum_suite("dense"))
    run_plan(make_plan(load_suite(folder / "dense.toml"), folder / "out"), devices=_devices(1))
    return read_results(folder / "out").metrics


def test_dense_spectrum_of_a_small_mlp_game(dense_spectrum):
    values = _item_final(dense_spectrum)
    for metric in (M.JAC_MAX_REAL, M.JAC_RADIUS):
        assert np.isfinite(values[metric]), metric
    # A 2x8 MLP game with plain steps of 1e-3: the update map is I + 1e-3 J, radius near 1.
    assert abs(values[M.JAC_RADIUS] - 1.0) < 0.1


def test_dense_spectrum_refuses_large_models(tmp_path):
    path = tmp_path / "suite.toml"
    text = SUITE.format(body=NS + "generator = { width = 64, depth = 2 }\n")
    path.write_text(text.replace("samples = 64", 'samples = 64\nspectrum = "dense"'))
    summary = run_plan(make_plan(load_suite(path), tmp_path / "out"), devices=_devices(1))
    assert summary.failed == 1
    assert "at most 4096 parameters" in summary.failures[0]


def test_layer_gradient_norms_compose_the_global_norm(dense_spectrum):
    frame = dense_spectrum
    for step in (1, 2, 3, 4):  # one step per chunk: the chunk mean is that step's norm
        at = frame[frame["step"] == step]
        values = dict(zip(at["metric"], at["value"], strict=True))
        for player in ("g", "d"):
            layers = [
                v for m, v in values.items() if m.startswith(f"{M.LAYER_GRAD_PREFIX}{player}/")
            ]
            assert len(layers) == 2  # depth 1: a hidden and an output layer
            total = values[f"grad_norm_{player}_mean"]
            assert np.sqrt(np.sum(np.square(layers))) == pytest.approx(total, rel=1e-5)


def test_iterative_spectrum_with_a_full_krylov_space_is_the_dense_one(tmp_path, dense_spectrum):
    path = tmp_path / "iterative.toml"
    path.write_text(_spectrum_suite("iterative", "\nspectrum_k = 1000"))  # k capped at P
    run_plan(make_plan(load_suite(path), tmp_path / "iterative"), devices=_devices(1))
    iterative = _item_final(read_results(tmp_path / "iterative").metrics)
    dense = _item_final(dense_spectrum)
    for metric in (M.JAC_MAX_REAL, M.JAC_RADIUS):
        assert iterative[metric] == pytest.approx(dense[metric], rel=1e-4)
