"""``python -m steplineage`` is the ``steplineage`` command."""

from steplineage.cli import main

main()
