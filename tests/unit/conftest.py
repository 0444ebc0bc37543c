# Copyright: kinc developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# The shared fake host (fake_host.py) for every unit test that needs podman and systemctl.
import os
import sys

import pytest
from hypothesis import settings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from fake_host import FakeHost  # noqa: E402  pylint: disable=wrong-import-position

# Property tests (Hypothesis) give the same examples on every machine and keep no database in the checkout.
settings.register_profile('kinc', derandomize=True, database=None)
settings.load_profile('kinc')


@pytest.fixture
def host(tmp_path):
    return FakeHost(tmp_path)
