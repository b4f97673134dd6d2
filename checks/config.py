"""The `cleancrm.yml` configuration: models, loading, `${ENV}` interpolation and error reporting.

Every key carries a description; `cleancrm.example.yml` documents them and a test keeps the two in
step. Validation errors are collected and reported all at once, each with its dotted location.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationError

from connectors.errors import ConfigError
from connectors.models import (  # noqa: F401 - the mapping's models are part of the config
    ENTITY_NAMES,
    EntityConfig,
    EntityName,
    FieldMapping,
    FieldSpec,
    JoinStep,
    ReferenceConfig,
    SourceConfig,
    StrictModel,
)
from connectors.notify import AlertChannel

SEVERITIES = ("low", "medium", "high", "critical")
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class CheckSettings(StrictModel):
    """Per-check overrides."""

    enabled: bool = Field(True, description="Run this check.")
    weight: float | None = Field(None, ge=0, description="Weight in field, dimension and entity scores.")
    severity: Literal["low", "medium", "high", "critical"] | None = Field(None, description="Severity.")
    params: dict[str, Any] = Field(default_factory=dict, description="Check parameters (thresholds, days …).")


class ScheduleEntry(StrictModel):
    """A cron trigger for scheduled runs."""

    name: str = Field("default", description="Name of the schedule, shown on the dashboard.")
    cron: str = Field(description="Cron expression: minute hour day month weekday (a sixth, leading field: seconds).")
    timezone: str = Field("UTC", description="IANA timezone the cron expression is read in.")
    only: list[str] = Field(default_factory=list, description="Entities, dimensions or check ids to run.")


class AlertRule(StrictModel):
    """A condition that sends an alert once, then a recovery message."""

    name: str = Field(description="Rule name, used to de-duplicate alerts.")
    kind: Literal["score_below", "score_drop", "failed_count_above", "run_failed", "heartbeat_stale"] = Field(
        description="What is watched."
    )
    scope: str = Field("overall", description="`overall`, a dimension, an entity or a check id.")
    threshold: float | None = Field(None, description="Score (0-100), points, count or minutes.")
    channels: list[str] = Field(default_factory=list, description="Names of channels under `alerts.channels`.")


class AlertsConfig(StrictModel):
    """Alert rules and channels."""

    channels: dict[str, AlertChannel] = Field(default_factory=dict, description="Named channels.")
    rules: list[AlertRule] = Field(default_factory=list, description="Rules.")


class RetryConfig(StrictModel):
    """Retries of a scheduled run that failed (source down, statement timeout, lost connection)."""

    attempts: int = Field(3, ge=1, description="Tries per scheduled run, the first one included; 1 = no retry.")
    backoff_s: float = Field(30.0, ge=0, description="Seconds to wait before the first retry.")
    backoff_factor: float = Field(2.0, ge=1, description="Each further retry waits this many times longer.")
    max_backoff_s: float = Field(900.0, ge=0, description="Longest wait between two tries, in seconds.")


class HistoryConfig(StrictModel):
    """Where run results are kept."""

    url: str | None = Field(None, description="SQLAlchemy URL; default a SQLite file beside the config.")
    mask_fields: list[str] = Field(
        default_factory=list,
        description="Canonical fields (email, phone, first_name …) whose raw values the history never stores: "
        "their findings keep only the masked value.",
    )


ROLES = ("viewer", "steward", "admin")


class UserConfig(StrictModel):
    """A person who may sign in to the dashboard, and what they may see and do."""

    name: str = Field(description="Sign-in name, recorded in the audit log.")
    role: Literal["viewer", "steward", "admin"] = Field(
        description="viewer: scores, trends, masked records, no export; steward: unmasked records of the "
        "granted entities and owners, exports, duplicate decisions; admin: all of that, runs, annotations, "
        "the configuration and the audit log."
    )
    password_hash: str | None = Field(
        None, description="bcrypt hash of the password (`cleancrm hash-password`); use ${ENV} to keep it out of the file."
    )
    entities: list[str] = Field(default_factory=list, description="Entities a steward may see unmasked; empty = all.")
    owners: list[str] = Field(default_factory=list, description="Owner ids a steward may see unmasked; empty = all.")


class DashboardConfig(StrictModel):
    """Who may use the dashboard, and where it listens."""

    address: str = Field("127.0.0.1", description="Address the dashboard binds to; another one needs users.")
    session_minutes: int = Field(480, ge=1, description="A signed-in session expires after this many minutes.")
    users: list[UserConfig] = Field(default_factory=list, description="People who may sign in, with their role.")
    oidc_roles: dict[str, Literal["viewer", "steward", "admin"]] = Field(
        default_factory=dict,
        description="With an OIDC provider in .streamlit/secrets.toml ([auth], Streamlit's st.login): "
        "e-mail address → role of the people it signs in.",
    )


class ScoringConfig(StrictModel):
    """Score weights."""

    severity_weights: dict[str, float] = Field(
        default_factory=lambda: {"low": 1.0, "medium": 2.0, "high": 3.0, "critical": 5.0},
        description="Multiplier of a check's weight per severity.",
    )
    dimension_weights: dict[str, float] = Field(
        default_factory=dict, description="Weight of each dimension in the overall score (default 1 each)."
    )


class Config(StrictModel):
    """The whole `cleancrm.yml`."""

    name: str = Field("crm", description="Name of this source, shown on the dashboard and in alerts.")
    preset: str | None = Field(None, description="Preset the mapping came from (informational).")
    source: SourceConfig = Field(description="The CRM database.")
    history: HistoryConfig = Field(default_factory=HistoryConfig, description="The results store.")
    entities: dict[EntityName, EntityConfig] = Field(description="Canonical entities mapped onto tables.")
    references: list[ReferenceConfig] = Field(default_factory=list, description="Links checked for orphans.")
    checks: dict[str, CheckSettings] = Field(default_factory=dict, description="Per-check settings by id.")
    scoring: ScoringConfig = Field(default_factory=ScoringConfig, description="Score weights.")
    schedule: list[ScheduleEntry] = Field(default_factory=list, description="Cron schedules.")
    alerts: AlertsConfig = Field(default_factory=AlertsConfig, description="Alerting.")
    retry: RetryConfig = Field(default_factory=RetryConfig, description="Retries of failed scheduled runs.")
    dashboard: DashboardConfig = Field(default_factory=DashboardConfig, description="Sign-in, roles and binding.")

    # Filled by load_config: where the file was, for relative paths.
    base_dir: Path = Field(default=Path("."), exclude=True, description="Folder of the config file.")

    def history_url(self) -> str:
        """The history store URL, defaulting to `cleancrm-history.db` beside the config."""
        if self.history.url:
            return self.history.url
        return f"sqlite:///{(self.base_dir / 'cleancrm-history.db').resolve()}"

    def source_url(self) -> str:
        """The source URL with a relative SQLite/file path resolved against the config's folder."""
        return resolve_relative_url(self.source.url, self.base_dir)

    def check_settings(self, check_id: str) -> CheckSettings:
        """Settings for one check (defaults when the config says nothing)."""
        return self.checks.get(check_id) or CheckSettings()

    def fingerprint(self) -> str:
        """Hash of the effective config, stored with each run."""
        data = self.model_dump(mode="json", by_alias=True, exclude={"base_dir"})
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def resolve_relative_url(url: str, base: Path) -> str:
    """Resolve `sqlite:///relative.db` and `csv:///relative` against the config's folder."""
    for prefix in ("sqlite:///", "csv:///", "xlsx:///"):
        if url.startswith(prefix):
            rest = url[len(prefix) :]
            path, sep, query = rest.partition("?")
            if path and not path.startswith("/") and not path.startswith(":memory:") and not path.startswith("file:"):
                path = str((base / path).resolve())
            return prefix + path + sep + query
    return url


def interpolate_env(text: str, where: str = "config") -> str:
    """Replace `${VAR}` and `${VAR:-default}`; a missing variable is an error naming it."""

    def repl(m: re.Match[str]) -> str:
        name, default = m.group(1), m.group(2)
        if name in os.environ:
            return os.environ[name]
        if default is not None:
            return default
        raise ConfigError(f"{where}: environment variable ${{{name}}} is not set; export it or give ${{{name}:-default}}")

    return _ENV.sub(repl, text)


def _interpolate(node: Any, path: str) -> Any:
    if isinstance(node, str):
        return interpolate_env(node, path)
    if isinstance(node, dict):
        return {k: _interpolate(v, f"{path}.{k}" if path else str(k)) for k, v in node.items()}
    if isinstance(node, list):
        return [_interpolate(v, f"{path}[{i}]") for i, v in enumerate(node)]
    return node


def format_validation_errors(exc: ValidationError) -> list[str]:
    """Pydantic errors as `dotted.location: message` lines."""
    lines = []
    for err in exc.errors():
        if err["loc"] and err["loc"][-1] == "[key]" and err["type"] == "literal_error":
            where = ".".join(str(p) for p in err["loc"][:-2])
            lines.append(f"{where}: unknown entity {err['input']!r}; use one of {', '.join(ENTITY_NAMES)}")
            continue
        if err["type"] in ("string_type", "list_type") and isinstance(err.get("input"), dict):
            continue  # a mapping given as {…}: only the FieldSpec member's errors say what is wrong
        loc = ".".join(str(p) for p in err["loc"] if not str(p).startswith("function-"))
        # Union members add their type names to the location; drop them for readability.
        loc = re.sub(r"\.(str|list\[str\]|FieldSpec|function-after\[[^]]*\])", "", loc)
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key; see cleancrm.example.yml for the keys allowed here"
        lines.append(f"{loc}: {msg}")
    return sorted(set(lines), key=lines.index)


def parse_config(data: dict[str, Any], base_dir: Path = Path(".")) -> Config:
    """Validate a config mapping; raises ConfigError listing every problem."""
    if not isinstance(data, dict):
        raise ConfigError("config: the file must be a YAML mapping (key: value)")
    data = _interpolate(data, "")
    try:
        cfg = Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError("\n".join(format_validation_errors(exc))) from None
    cfg.base_dir = base_dir
    return cfg


def load_config(path: str | Path) -> Config:
    """Read, interpolate and validate a `cleancrm.yml`."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path}: config file not found; create one with `cleancrm init --url URL`")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise ConfigError(f"{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    return parse_config(data, path.parent.resolve())
