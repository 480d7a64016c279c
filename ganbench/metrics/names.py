"""Metric names: the strings stored in metrics.parquet and shown by the report.

What each metric means, which way is better and where the report shows it is in the catalog
(:mod:`ganbench.metrics.catalog`).
"""

from __future__ import annotations

# Mode coverage (VEEGAN protocol as implemented in PacGAN's code).
MODES = "modes"
HQ_FRACTION = "hq_fraction"
REVERSE_KL = "reverse_kl"
TOP_MODE_SHARE = "top_mode_share"  # samples nearest the most common mode / all samples
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
BASELINE_PREFIXES = (FLOOR_PREFIX, DATA_PREFIX, CHANCE_PREFIX)
"""Variant names of baseline rows that train nothing: they carry metrics but no training to
judge, so they get no stability verdict (see :func:`is_baseline_row`)."""
REFERENCE_PREFIX = FLOOR_PREFIX
"""The image floors' prefix under its first name; test rows with :func:`is_baseline_row`."""


def is_baseline_row(variant: object) -> bool:
    """Whether a variant name is a baseline row that trained nothing (floor, data or chance)."""
    return str(variant).startswith(BASELINE_PREFIXES)


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
