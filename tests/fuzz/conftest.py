"""Hypothesis profiles of the fuzz harness.

``ci`` (the default): derandomized, a fixed modest budget, so the whole folder runs in well under
a minute on two cores as part of ``make test``, and fails the same way on every machine.
``fuzz``: many more examples, random each run, for ``make fuzz`` (``HYPOTHESIS_PROFILE=fuzz``).

The profiles are applied per test through :func:`tests.fuzz.fuzzkit.fuzz`, not loaded globally:
the rest of the suite keeps its own Hypothesis settings when both run in one session.
Both profiles keep a deadline of a few seconds per example (an input that makes a parser loop
or crawl is a failure like a crash); ``ci`` allows more, as it shares the machine with the suite.
"""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, settings

from tests.fuzz.fuzzkit import CI_EXAMPLES, FUZZ_EXAMPLES

# Generated inputs are often rejected early (filters, assume) and some targets are slow by
# nature (dateparser, whole files): neither is a problem of the test.
_RELAXED = [HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large]

settings.register_profile(
    "ci",
    derandomize=True,
    max_examples=CI_EXAMPLES,
    deadline=timedelta(seconds=10),
    database=None,  # derandomized: nothing to remember between runs
    suppress_health_check=_RELAXED,
    print_blob=True,
)
settings.register_profile(
    "fuzz",
    derandomize=False,
    max_examples=FUZZ_EXAMPLES,
    deadline=timedelta(seconds=3),
    suppress_health_check=_RELAXED,
    print_blob=True,
)
