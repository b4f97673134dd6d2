"""The configuration as admins see it on the dashboard: every secret replaced before it is shown.

Passwords, password hashes, tokens and secrets are replaced by a marker; database URLs lose their
password; web URLs (webhooks carry their secret in the path) keep only their scheme and host.
Nothing here imports streamlit.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import yaml

from connectors.source import redact

HIDDEN = "•••"
_SECRET_KEY = re.compile(r"password|secret|token|hash|api_?key", re.IGNORECASE)
_SECRET_QUERY = re.compile(r"((?:password|secret|token|api_?key)[^=&]*=)[^&]*", re.IGNORECASE)


def redact_url(url: str) -> str:
    """A URL without its secrets: `https://hooks.example.com/•••`, `postgresql://ro:***@host/db`."""
    parts = urlsplit(url)
    if parts.scheme in ("http", "https"):
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
        return f"{parts.scheme}://{host}{port}/{HIDDEN}" if parts.path.strip("/") or parts.query else url
    return _SECRET_QUERY.sub(rf"\g<1>{HIDDEN}", redact(url))


def _redact(node, key: str = ""):
    if isinstance(node, dict):
        return {k: _redact(v, str(k)) for k, v in node.items()}
    if isinstance(node, list):
        return [_redact(v, key) for v in node]
    if isinstance(node, str) and node:
        if _SECRET_KEY.search(key):
            return HIDDEN
        if key == "url":
            return redact_url(node)
    return node


def redacted(cfg) -> dict:
    """The effective config (after `${ENV}` interpolation and defaults) with every secret replaced."""
    data = cfg.model_dump(mode="json", by_alias=True, exclude={"base_dir"})
    return _redact(data)


def redacted_yaml(cfg) -> str:
    """`redacted(cfg)` as YAML, in the config's own key order."""
    return yaml.safe_dump(redacted(cfg), sort_keys=False, allow_unicode=True, width=110)
