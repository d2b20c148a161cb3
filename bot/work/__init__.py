"""Durable work shared by every replica: question jobs and the Slack outbox, claimed with leases.

Nothing here talks to Slack; `bot.slack` renders and sends. A claim is one conditional UPDATE,
so two processes (or two replicas) racing for the same row never both win.
"""
