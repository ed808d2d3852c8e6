"""`republisher reprocess`: run the per-entry stages again on stored revisions after an upgrade or a policy change.

Recording and deciding again belong to ``decisions``; the names below stay importable from here.
"""

from . import decisions, ingest
from .decisions import override_item_license, reevaluate, require_evidence, require_reason, set_source_license

__all__ = ["override_item_license", "reevaluate", "reprocess", "require_evidence", "require_reason",
           "set_source_license"]


def reprocess(db, config: ingest.IngestConfig, *, source_id: int | None = None, actor: str = "cli") -> dict:
    """Sanitize and credit every shown revision again; decide again for pending and blocked items.

    Sanitizing happens once, here; the re-decision that follows only makes the credit again.
    """
    counts = {"revisions": decisions.render_again(db, source_id=source_id)}
    counts["status changes"] = decisions.reevaluate(db, config, source_id=source_id, actor=actor)
    return counts
