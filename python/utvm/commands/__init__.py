"""One module per ``utvm`` subcommand, each with ``register(subparsers)``."""
