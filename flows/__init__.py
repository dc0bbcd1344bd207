"""Conversation flows, declared as the practice would describe its procedures."""
