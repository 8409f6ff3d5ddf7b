"""The ``suppressor`` command: every command's front end."""
