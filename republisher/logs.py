"""Log lines on stderr for `serve` and `worker`: one line per fetch, plain or JSON (REPUBLISHER_LOG_FORMAT)."""

import json
import logging
import sys
from datetime import datetime, timezone

FETCH_FIELDS = ("source_id", "name", "outcome", "status", "bytes", "new", "updated", "blocked", "duration_ms",
                "error", "warning")
fetch_log = logging.getLogger("republisher.fetch")


class PlainFormatter(logging.Formatter):
    """`time level logger message`, with a fetch's fields as key=value pairs."""

    def format(self, record: logging.LogRecord) -> str:
        """One line; values with spaces are quoted."""
        stamp = datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="seconds")
        line = f"{stamp} {record.levelname} {record.name} {record.getMessage()}"
        fields = getattr(record, "fields", None)
        if fields:
            line += " " + " ".join(f"{key}={plain_value(value)}" for key, value in fields.items())
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def plain_value(value) -> str:
    """A value as key=value shows it: '-' for none, JSON quoting when it holds spaces or quotes."""
    if value is None:
        return "-"
    text = str(value)
    return json.dumps(text, ensure_ascii=False) if not text or any(c in text for c in ' "=\n') else text


class JSONFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and a fetch's fields."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as JSON."""
        body = {"time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
                "level": record.levelname, "logger": record.name, "message": record.getMessage()}
        body.update(getattr(record, "fields", None) or {})
        if record.exc_info:
            body["exception"] = self.formatException(record.exc_info)
        return json.dumps(body, ensure_ascii=False, default=str)


def configure(log_format: str, stream=None) -> None:
    """Send the service's log records of level INFO and above to stderr in the chosen format (once)."""
    logger = logging.getLogger("republisher")
    for handler in list(logger.handlers):
        if getattr(handler, "republisher_stderr", False):
            logger.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.republisher_stderr = True
    handler.setFormatter(JSONFormatter() if log_format == "json" else PlainFormatter())
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False


def log_fetch(report) -> None:
    """The one line a fetch leaves in the log."""
    fields = {key: getattr(report, key) for key in FETCH_FIELDS}
    level = logging.WARNING if report.outcome == "error" else logging.INFO
    fetch_log.log(level, "fetch", extra={"fields": fields})
