"""``python -m workers`` is the ``suppressor`` command."""

from workers.cli.main import main

main()
