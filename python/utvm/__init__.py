"""utvm: host tools for utvm-zephyr, the Zephyr-native home of microTVM.

Subpackages: ``utvm.mlf`` reads TVM Model Library Format exports, ``utvm.host`` builds
and runs them on this computer. The ``utvm`` command line wraps both.
"""

from utvm.errors import UtvmError

__version__ = "0.1.0"

__all__ = ["UtvmError", "__version__"]
