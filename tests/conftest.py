# Makes `ansible_collections.kinc.kinc` importable in plain pytest runs: this checkout is linked as the
# collection under .ansible/collections by tests/tooling/setup-machine.sh.
import os
import sys

_COLLECTIONS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), '.ansible', 'collections')
if _COLLECTIONS not in sys.path:
    sys.path.insert(0, _COLLECTIONS)
