"""The unit layer starts no server: tests/support/layers.py marks and guards the layers."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

PROBES = """
import pytest
from exotel_provider.simulator.server import ExotelSimulator


def test_unit_test_starting_a_simulator():
    ExotelSimulator(time_scale=0).start().stop()


@pytest.mark.integration
def test_marked_integration_test_starting_a_simulator():
    ExotelSimulator(time_scale=0).start().stop()


def test_test_using_the_simulator_fixture(exotel_simulator):
    assert exotel_simulator.base_url.startswith("http://")
"""


@pytest.mark.integration  # its inner integration tests start simulators
def test_a_unit_test_that_starts_a_simulator_fails_and_integration_tests_may(pytester: pytest.Pytester):
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makeconftest('pytest_plugins = ["tests.support.layers"]\n')
    pytester.makepyfile(test_probes=PROBES)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-m", "not integration")
    result.assert_outcomes(failed=1, deselected=2)
    result.stdout.fnmatch_lines(["*starts an Exotel simulator: mark it integration*"])
    pytester.runpytest_inprocess("-p", "no:cacheprovider", "-m", "integration").assert_outcomes(passed=2)
