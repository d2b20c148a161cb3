"""Retrieve → decide (answer or abstain) → compose an extractive answer with citations."""
