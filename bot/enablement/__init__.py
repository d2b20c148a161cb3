"""Checklists, training and workshops: what the CoE offers teams beyond answers."""
