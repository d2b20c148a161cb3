"""Where documents come from: a source lists items and loads them (ingest.sources.base).

Local folders (ingest.sources.folder) and Git repositories are read here; Confluence, Google
Drive and Notion over their REST APIs. `ingest.sources.config` reads `sources.yaml`.
"""
