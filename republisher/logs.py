"""Log lines on stderr for `serve` and `worker`: one line per fetch, plain or JSON (REPUBLISHER_LOG_FORMAT)."""

import json
import logging
import sys
import time
from datetime import datetime, timezone

FETCH_FIELDS = ("source_id", "name", "outcome", "status", "bytes", "new", "updated", "blocked", "duration_ms",
                "error", "warning")
fetch_log = logging.getLogger("republisher.fetch")
access_log = logging.getLogger("republisher.access")


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
    # quoted when it could be read as more than one value or line (a path sent by a stranger, say)
    quote = not text or any(c in ' "=' or ord(c) < 0x20 or ord(c) == 0x7F for c in text)
    return json.dumps(text, ensure_ascii=False) if quote else text


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


class AccessLog:
    """WSGI middleware for `serve --access-log`: one line per request once its body is sent."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        """Pass the request on; count the body's bytes and log when it ends."""
        started, seen = time.monotonic(), {}

        def recording_start(status, headers, exc_info=None):
            seen["status"] = int(status.split(" ", 1)[0])
            return start_response(status, headers, exc_info)

        body = self.app(environ, recording_start)
        sent = 0
        try:
            for chunk in body:
                sent += len(chunk)
                yield chunk
        finally:
            if hasattr(body, "close"):
                body.close()
            log_request(environ, seen.get("status"), sent, time.monotonic() - started)


def log_request(environ: dict, status: int | None, sent: int, seconds: float) -> None:
    """The access log's line for one request."""
    query = environ.get("QUERY_STRING")
    path = environ.get("PATH_INFO", "") + (f"?{query}" if query else "")
    fields = {"method": environ.get("REQUEST_METHOD"), "path": path[:2000], "status": status, "bytes": sent,
              "ms": int(seconds * 1000), "client": environ.get("REMOTE_ADDR")}
    access_log.info("request", extra={"fields": fields})
