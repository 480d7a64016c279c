from ganbench.api import evaluate as evaluate
from ganbench.api import load as load
from ganbench.api import load_suite as load_suite
from ganbench.api import mnist_features as mnist_features
from ganbench.api import plan as plan
from ganbench.api import register_dataset as register_dataset
from ganbench.api import register_loss as register_loss
from ganbench.api import register_network as register_network
from ganbench.api import report as report
from ganbench.api import run_plan as run_plan
from ganbench.api import run_suite as run_suite
from ganbench.api import suite_results as suite_results
from ganbench.api import summarize as summarize

__version__: str
__all__: list[str]
