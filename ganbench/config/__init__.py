"""Suite schema, loading, and expansion into runs."""

from ganbench.config.load import (
    RunSpec,
    Suite,
    load_suite,
    load_suite_dict,
    make_run_id,
    parse_override,
)
from ganbench.config.schema import MetricsSection, RunConfig, SuiteFile

__all__ = [
    "MetricsSection",
    "RunConfig",
    "RunSpec",
    "Suite",
    "SuiteFile",
    "load_suite",
    "load_suite_dict",
    "make_run_id",
    "parse_override",
]
