"""The developer kit: local broker, worker process, load generator, demo, free ports.

Imported only by the CLI (lazily), tests and benchmarks; never by production code.
"""
