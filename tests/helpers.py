"""Helpers shared by test modules (importable as `helpers`, since tests/ is on the path)."""

from pathlib import Path

from republisher import ingest, storage

REPO = Path(__file__).resolve().parent.parent
SAMPLE_FEEDS = REPO / "republisher" / "sample_feeds"
FIXTURES = REPO / "tests" / "fixtures"


def sample_feed(name: str) -> bytes:
    """Bytes of a bundled sample feed."""
    return (SAMPLE_FEEDS / name).read_bytes()


def pipeline_config(app):
    """The app's ingest configuration."""
    return ingest.config_from_settings(app.config, app.config["LICENSE_POLICY"])


def refresh(app, db, source_id):
    """Refresh one source the way `republisher fetch --source` does."""
    return ingest.refresh_many([storage.get_source(db, source_id)], pipeline_config(app))[0]
