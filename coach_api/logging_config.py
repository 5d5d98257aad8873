"""Logging for ``coach-api serve``: the API's JSON request lines and uvicorn's own logs on
stderr, with tokens never written (a token in a URL's query, or a shared report link's
token in its path, is redacted)."""

from __future__ import annotations

import logging
import re

_TOKEN_IN_QUERY = re.compile(r"((?:^|[?&])(?:token|access_token)=)[^&\s\"]*", re.IGNORECASE)
# A shared report link opens someone's workout to whoever holds it, until it expires.
_SHARED_LINK = re.compile(r"(/shared/reports/)[^/?\s\"]+")


def _redacted(text: str) -> str:
    return _SHARED_LINK.sub(r"\1[redacted]", _TOKEN_IN_QUERY.sub(r"\1[redacted]", text))


class RedactTokens(logging.Filter):
    """Replace the value of ``token=`` / ``access_token=`` query parameters and the token
    of a shared report link in a record's arguments (uvicorn's access log passes the
    request path with its query) and message (the API's JSON lines)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_redacted(a) if isinstance(a, str) else a for a in record.args)
        record.msg = _redacted(str(record.msg))
        return True


def log_config(level: str = "INFO") -> dict:
    """A ``logging.config.dictConfig`` dict for uvicorn's ``log_config``."""
    redact = {"()": RedactTokens}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"redact_tokens": redact},
        "formatters": {
            "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
            "message": {"format": "%(message)s"},  # the API's lines are JSON already
        },
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "formatter": "plain",
                "filters": ["redact_tokens"],
                "stream": "ext://sys.stderr",
            },
            "json_lines": {
                "class": "logging.StreamHandler",
                "formatter": "message",
                "filters": ["redact_tokens"],
                "stream": "ext://sys.stderr",
            },
        },
        "loggers": {
            "uvicorn": {"handlers": ["default"], "level": level, "propagate": False},
            "uvicorn.error": {"level": level},
            "uvicorn.access": {"handlers": ["default"], "level": level, "propagate": False},
            "coach_api.requests": {"handlers": ["json_lines"], "level": level, "propagate": False},
            "coach_api": {"handlers": ["default"], "level": level, "propagate": False},
        },
    }
