"""One module per `toolkit` subcommand.

Each module defines `HELP` (one line), `add_arguments(parser)` and `run(args) -> int`. The CLI
discovers them, so a new command is a new file: no central list to edit (and no merge conflicts
between features that each add a command).
"""
