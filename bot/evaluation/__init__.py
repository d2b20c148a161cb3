"""`coe eval`: retrieval and abstention quality on the golden set, against a dense baseline."""
