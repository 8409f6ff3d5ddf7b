"""Adapters that turn what the outside world sends (bounce and complaint mail, provider
webhooks) into events."""
