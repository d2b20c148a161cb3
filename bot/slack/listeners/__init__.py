"""Thin listeners: parse the payload, call a service, render with a builder, send."""
