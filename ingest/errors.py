"""Errors raised while reading documents or the index, each with a message meant for a person."""


class DocumentError(Exception):
    """A single document cannot be ingested; the message says why, the run goes on."""


class IndexMissingError(Exception):
    """There is no index yet in the data directory."""


class IndexCorruptError(Exception):
    """The index exists but cannot be read."""


class IngestBusyError(Exception):
    """Another ingest holds the lock on this data directory."""


class RefusedError(DocumentError):
    """The path is not something ingest reads at all (a link, a special or a secret file).

    Unlike a broken document, whatever was indexed under this path before is dropped: it may
    have come from following the very link that is now refused.
    """


class EmptyDocumentError(DocumentError):
    """The document holds no text to index (an empty file, a page of child-page macros)."""


class RebuildRefusedError(Exception):
    """A rebuild was not published because a source failed (it would have lost its content)."""
