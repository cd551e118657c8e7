"""TVM 0.18's microTVM Project API, served by utvm for any Zephyr board.

TVM's own flows (``tvm.micro.generate_project``, ``tvmc micro create-project | build |
flash ... template --template-dir <module>/template_project``, ``tvm.micro.Session``,
``tvmc run --device micro``, AutoTVM) start ``microtvm_api_server.py`` of the template or
generated project; that thin script runs ``utvm.project_api.server.main``.

One job per module: ``jsonrpc`` (framing, validation, error objects), ``options`` (the
project options and their parsing), ``generate`` (the generated project's layout),
``transport_bridge`` (the transport methods over utvm's transports), ``handlers`` (the
methods, on top of ``utvm.board``), ``server`` (the command line).
"""
