"""GAN losses and penalties."""

from ganbench.objectives.losses import LOSSES, LossOutput
from ganbench.objectives.penalties import PENALTIES, Penalty

__all__ = ["LOSSES", "PENALTIES", "LossOutput", "Penalty"]
