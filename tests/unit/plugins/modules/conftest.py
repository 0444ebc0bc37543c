# Module tests simulate the target side. Importing controller code in the same pytest process (the action
# plugin tests do) flips ansible's "is_controller" switch, after which module.warn() goes to the controller's
# display instead of the module result; put it back for every module test.
import pytest
from ansible.module_utils import _internal


@pytest.fixture(autouse=True)
def _target_side(monkeypatch):
    monkeypatch.setattr(_internal, 'is_controller', False)
