"""The list tools the CLI and the HTTP API share, typed against protocols."""
