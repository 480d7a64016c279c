"""Metric names: the strings stored in metrics.parquet and shown by the report.

Each metric has a direction (higher or lower is better, or neither) so reports and comparisons
know which way is an improvement.
"""

from __future__ import annotations

# Mode coverage (VEEGAN protocol as implemented in PacGAN's code).
MODES = "modes"
HQ_FRACTION = "hq_fraction"
REVERSE_KL = "reverse_kl"
MODE_COUNT_PREFIX = "mode_count/"  # + mode index: HQ samples assigned to that mode

LAYER_GRAD_PREFIX = "layer_grad_norm/"
"""Prefix of a per-layer gradient norm, ``layer_grad_norm/<player>/<layer>`` (player g or d),
written when ``[metrics] layer_grads = true``."""

EMA_PREFIX = "ema/"
"""Prefix of a diagnostic computed for the generator's exponential moving average."""

# The Dirac-GAN (Mescheder et al. 2018, section 2.2): distance to its equilibrium.
EQ_THETA = "eq_theta"
EQ_PSI = "eq_psi"
EQ_DISTANCE = "eq_distance"

# Eigenvalues of the Jacobian of the game's gradient vector field (Mescheder et al. 2017),
# computed at every evaluation for models small enough to trace (the Dirac-GAN).
JAC_MAX_REAL = "jac_max_real"
JAC_IMAG_RATIO = "jac_max_imag_ratio"
JAC_RADIUS = "jac_update_radius"

# Frechet distance in data space.
FD = "fd"

# Images (MNIST): metrics in the feature space of ganbench's own MNIST classifier
# (ganbench.extractors.mnist_cnn); never called plain "FID", which means Inception features.
FID_MNIST = "fid_mnist_cnn"
KID_MNIST = "kid_mnist_cnn"
KID_MNIST_STD = "kid_mnist_cnn_std"
PRECISION = "precision"
RECALL = "recall"
DENSITY = "density"
COVERAGE = "coverage"
CLASSES = "classes"
CLASS_KL = "class_kl"

# Images, opt-in ([metrics] inception_weights): the pool3 features of the FID Inception-v3
# (ganbench.extractors.inception), from a weights file the user provides.
FID_INCEPTION = "fid_inception"
KID_INCEPTION = "kid_inception"
KID_INCEPTION_STD = "kid_inception_std"

FLOOR_PREFIX = "floor: "
"""Variant names of image floors: metrics between MNIST train and test draws."""
DATA_PREFIX = "data: "
"""Variant names of rows measured on the real data itself (the ceiling at a sample count; on
Stacked MNIST the data's uniform digit triples)."""
CHANCE_PREFIX = "chance: "
"""Variant names of mode-blind generators (uniform box, the data's Gaussian): the level a trained
generator must beat to have learned anything about the modes."""
REFERENCE_PREFIXES = (FLOOR_PREFIX, DATA_PREFIX, CHANCE_PREFIX)
"""Variant names of reference rows that train nothing: they carry metrics but no training to
judge, so they get no stability verdict (see :func:`is_reference`)."""
REFERENCE_PREFIX = FLOOR_PREFIX
"""The image floors' prefix under its first name; test rows with :func:`is_reference`."""


def is_reference(variant: object) -> bool:
    """Whether a variant name is a reference row that trained nothing (floor, data or chance)."""
    return str(variant).startswith(REFERENCE_PREFIXES)


def is_chance(variant: object) -> bool:
    """Whether a variant name is a chance row (a mode-blind generator; not the data row)."""
    return str(variant).startswith(CHANCE_PREFIX)


# In-scan statistics, aggregated per evaluation chunk (mean over the chunk's steps).
LOSS_D = "loss_d"
LOSS_D_REAL = "loss_d_real"
LOSS_D_FAKE = "loss_d_fake"
LOSS_G = "loss_g"
PENALTY = "penalty"
D_REAL = "d_real"
D_FAKE = "d_fake"

# Gradient norms: mean and max over the chunk's steps.
GRAD_NORM_D = "grad_norm_d"
GRAD_NORM_G = "grad_norm_g"
INPUT_GRAD_REAL = "input_grad_real"
INPUT_GRAD_FAKE = "input_grad_fake"

STEP_STATS = (LOSS_D, LOSS_D_REAL, LOSS_D_FAKE, LOSS_G, PENALTY, D_REAL, D_FAKE)
"""Per-step statistics reported as their mean over a chunk."""

# Update size relative to parameter size, per step: vanishing generator updates (the saturating
# minimax loss) show as a ratio far below the discriminator's.
UPDATE_RATIO_G = "update_ratio_g"
UPDATE_RATIO_D = "update_ratio_d"

NORM_STATS = (
    GRAD_NORM_D,
    GRAD_NORM_G,
    INPUT_GRAD_REAL,
    INPUT_GRAD_FAKE,
    UPDATE_RATIO_G,
    UPDATE_RATIO_D,
)
"""Per-step norms reported as ``<name>_mean`` and ``<name>_max`` over a chunk."""

HIGHER_IS_BETTER = {
    FID_MNIST: False,
    KID_MNIST: False,
    FID_INCEPTION: False,
    KID_INCEPTION: False,
    PRECISION: True,
    RECALL: True,
    DENSITY: True,
    COVERAGE: True,
    CLASSES: True,
    CLASS_KL: False,
    MODES: True,
    HQ_FRACTION: True,
    REVERSE_KL: False,
    FD: False,
    EQ_THETA: False,
    EQ_PSI: False,
    EQ_DISTANCE: False,
}

DESCRIPTIONS = {
    MODES: "modes with at least min_count high-quality samples",
    HQ_FRACTION: "fraction of samples within the HQ threshold of their nearest mode",
    REVERSE_KL: "KL(generated mode histogram || true mode weights), nats",
    FD: "Frechet distance between real and generated samples in data space",
    FID_MNIST: "images: Frechet distance in the 128-d penultimate features of ganbench's MNIST "
    "classifier (not Inception FID)",
    KID_MNIST: "images: kernel distance (unbiased MMD^2, cubic kernel; Binkowski et al. 2018) in "
    "the same features, mean over subsets",
    KID_MNIST_STD: "images: standard deviation of the KID estimate over its subsets",
    FID_INCEPTION: "images, with [metrics] inception_weights: Frechet distance in the 2048-d pool3 "
    "features of the FID Inception-v3 (pt_inception-2015-12-05); images resized to 299 x 299 "
    "with JAX's bilinear resize, which differs slightly from the reference implementations' "
    "(TensorFlow, PyTorch), so close to but not identical with published FIDs; biased upward "
    "at small N",
    KID_INCEPTION: "images, with [metrics] inception_weights: kernel distance (unbiased MMD^2, "
    "cubic kernel; Binkowski et al. 2018) in the same Inception features, mean over subsets",
    KID_INCEPTION_STD: "images, with [metrics] inception_weights: standard deviation of "
    "kid_inception over its subsets",
    PRECISION: "images: improved precision, k = 3 (Kynkaanniemi et al. 2019): generated samples "
    "inside the real manifold",
    RECALL: "images: improved recall, k = 3: real samples inside the generated manifold",
    DENSITY: "images: density, k = 5 (Naeem et al. 2020); 1 for samples of the data distribution",
    COVERAGE: "images: coverage, k = 5 (Naeem et al. 2020): real neighbourhoods holding a "
    "generated sample",
    CLASSES: "images: digit classes (MNIST, of 10) or digit triples (Stacked MNIST, of 1000) "
    "the classifier finds in the generated samples",
    CLASS_KL: "images: KL(generated class histogram || uniform), nats",
    EQ_THETA: "point-mass data (Dirac-GAN): |theta - x*|, the generated point's distance to the "
    "data point",
    EQ_PSI: "Dirac-GAN: |psi|, the linear discriminator's weight (0 at the equilibrium)",
    EQ_DISTANCE: "Dirac-GAN: distance of (theta, psi) to the equilibrium (x*, 0)",
    JAC_MAX_REAL: "largest real part of the eigenvalues of the Jacobian of the game's gradient "
    "vector field (traced models); > 0: locally repelling",
    JAC_IMAG_RATIO: "largest |Im|/|Re| over those eigenvalues (inf: purely imaginary, rotation "
    "without damping)",
    JAC_RADIUS: "spectral radius of the plain gradient-step update map I + diag(lr) J; < 1: "
    "locally convergent",
    MODE_COUNT_PREFIX + "<k>": "high-quality samples assigned to mode k (k = 0, 1, ... in the "
    "dataset's mode order)",
    LOSS_D: "discriminator loss without the penalty, chunk mean",
    LOSS_D_REAL: "the part of the discriminator loss computed on real samples, chunk mean",
    LOSS_D_FAKE: "the part of the discriminator loss computed on generated samples, chunk mean",
    LOSS_G: "generator loss, chunk mean",
    PENALTY: "penalty added to the discriminator loss, weight included (0 without one), chunk mean",
    D_REAL: "mean discriminator output on real samples, chunk mean",
    D_FAKE: "mean discriminator output on generated samples, chunk mean",
    GRAD_NORM_D + "_mean": "global L2 norm of D's parameter gradient, chunk mean",
    GRAD_NORM_D + "_max": "global L2 norm of D's parameter gradient, chunk max",
    GRAD_NORM_G + "_mean": "global L2 norm of G's parameter gradient, chunk mean",
    GRAD_NORM_G + "_max": "global L2 norm of G's parameter gradient, chunk max",
    INPUT_GRAD_REAL + "_mean": "norm of D's gradient w.r.t. its input on real samples, chunk mean",
    INPUT_GRAD_REAL + "_max": "norm of D's gradient w.r.t. its input on real samples, chunk max",
    INPUT_GRAD_FAKE + "_mean": "norm of D's gradient w.r.t. its input on fake samples, chunk mean",
    INPUT_GRAD_FAKE + "_max": "norm of D's gradient w.r.t. its input on fake samples, chunk max",
    UPDATE_RATIO_G + "_mean": "|G's parameter change in a step| / |G's parameters|, chunk mean",
    UPDATE_RATIO_G + "_max": "|G's parameter change in a step| / |G's parameters|, chunk max",
    UPDATE_RATIO_D + "_mean": "|D's parameter change in a step| / |D's parameters|, chunk mean",
    UPDATE_RATIO_D + "_max": "|D's parameter change in a step| / |D's parameters|, chunk max",
    LAYER_GRAD_PREFIX + "<player>/<layer>": "L2 norm of one layer's parameter gradient (player g "
    "or d; D's averaged over the n_critic updates of a step), chunk mean; with [metrics] "
    "layer_grads = true",
    EMA_PREFIX + "<metric>": f"{MODES}, {HQ_FRACTION}, {REVERSE_KL}, {FD} and "
    f"{MODE_COUNT_PREFIX}<k> of the generator's exponential moving average (written when ema "
    "is on)",
}
"""Every metric the runner writes, with one line of description (shown by ``ganbench list``).

``<k>`` and ``<metric>`` stand for a family of names (``mode_count/0``, ``ema/modes``, ...).
"""
