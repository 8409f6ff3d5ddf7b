"""Suppressor: per-account email suppression lists kept by a Kafka stream worker."""

__version__ = "0.1.0"
