"""``python -m workers`` is the ``suppressor`` command."""

from workers.cli import main

main()
