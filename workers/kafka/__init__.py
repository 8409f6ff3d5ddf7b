"""Kafka adapters: topic and table names, consume and produce helpers, faust internals."""
