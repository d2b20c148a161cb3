"""The Slack surface: a bolt app whose listeners parse payloads, call services, render blocks."""
