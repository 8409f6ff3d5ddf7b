"""Provider webhooks: pure payload mapping per provider, signature checks, one-click tokens."""
