"""CoE Assistant: answers, checklists and consultations for an AI Center of Excellence."""
