"""Delivery: the outbox, routing to each platform, and the sender."""
