"""Model code loaded onto a running board (firmware built with ``--loadable``): the build's
LLEXT Extension Development Kit, a model's MLF compiled into an ``.llext`` with it, and the
upload / load_module session that runs it."""
