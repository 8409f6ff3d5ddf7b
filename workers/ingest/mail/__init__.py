"""Bounce and complaint mail: parsing (pure), VERP, account resolution, and the commands.

``parse`` (with ``mime``, ``dsn``, ``arf``, ``textbounce``, ``autoreply`` and the data tables
in ``mta_rules``) reads raw messages and never does I/O; ``verp`` and ``resolve`` are pure too
and take settings values as arguments. ``sources``, ``ingest``, ``server`` and ``cli`` are the
edges: files, Kafka and SMTP.
"""
