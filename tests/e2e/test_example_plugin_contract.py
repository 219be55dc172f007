"""The example plugin's own test file, run as part of the main suite.

examples/plugin/tests/test_contract.py is what a plugin author copies; it
must keep passing against the current core. It is loaded here by path
under a unique module name, rather than by adding examples/plugin/tests to
the test paths: its basename (test_contract.py) is shared with every
plugin's contract test, and pytest's default import mode would take one for
another. The example plugin itself comes from tests/requirements.txt
(``-e examples/plugin[test]``).
"""
import importlib.util
from pathlib import Path

_PATH = Path(__file__).resolve().parents[2] / "examples" / "plugin" / "tests" / "test_contract.py"
_spec = importlib.util.spec_from_file_location("hatchway_dirmachine_example_contract", _PATH)
assert _spec is not None and _spec.loader is not None, f"cannot load {_PATH}"
_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_module)

TestDirMachineContract = _module.TestDirMachineContract
