"""Consultation requests: intake → store → triage → notify. No Slack imports here."""
