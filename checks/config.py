"""The `cleancrm.yml` configuration: models, loading, `${ENV}` interpolation and error reporting.

Every key carries a description; `cleancrm.example.yml` documents them and a test keeps the two in
step. Validation errors are collected and reported all at once, each with its dotted location.

Loading also refuses what YAML and the models alone let through: a key given twice in a mapping
(PyYAML keeps the last one without a word), more than `MAX_ALIASES` aliases or aliases expanding
past `MAX_VALUES` values (an alias bomb), and, once every key is valid, what takes more than one
key to see (`config_problems`): no entity, a field that is not canonical, unknown dimensions or
severities in the weights, an alert rule naming a missing channel, and cron expressions and
timezones the scheduler cannot read (`cron_calendar` and `read_timezone` are its own reading).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from datetime import UTC
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import Field, ValidationError

from checks.base import DIMENSIONS
from checks.conditions import parse_bound, when_problems
from connectors.errors import ConfigError
from connectors.mapping import CANONICAL_FIELDS
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
from connectors.source import suggest

if TYPE_CHECKING:
    from apscheduler.triggers.cron import CronTrigger

SEVERITIES = ("low", "medium", "high", "critical")
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
MAX_ALIASES = 100  # YAML aliases (*name) one config may use
MAX_VALUES = 100_000  # values a config may stand for once its aliases are followed (real ones: hundreds)
MAX_CHUNK_SIZE = 10_000_000  # rows per streamed chunk
MAX_STATEMENT_TIMEOUT_S = 2_147_483  # PostgreSQL keeps statement_timeout in milliseconds, in 32 bits
_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")
Weight = Annotated[float, Field(ge=0, allow_inf_nan=False)]  # a multiplier: finite, not negative


class CheckSettings(StrictModel):
    """Per-check overrides."""

    enabled: bool = Field(True, description="Run this check.")
    weight: float | None = Field(None, ge=0, allow_inf_nan=False,
                                 description="Weight in field, dimension and entity scores.")
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
    kind: Literal["score_below", "score_drop", "failed_count_above", "run_failed", "heartbeat_stale", "anomaly"] = Field(
        description="What is watched; `anomaly`: the newest run's value is outside the range learned from past runs."
    )
    metric: Literal["score", "failed"] = Field(
        "score", description="For `anomaly`: the scope's score, or its failing count (overall, dimension, entity, check).")
    scope: str = Field("overall", description="`overall`, a dimension, an entity or a check id.")
    threshold: float | None = Field(None, allow_inf_nan=False, description="Score (0-100), points, count or minutes.")
    channels: list[str] = Field(default_factory=list, description="Names of channels under `alerts.channels`.")


class AlertsConfig(StrictModel):
    """Alert rules and channels."""

    channels: dict[str, AlertChannel] = Field(default_factory=dict, description="Named channels.")
    rules: list[AlertRule] = Field(default_factory=list, description="Rules.")


class IncidentRoute(StrictModel):
    """Who gets the incidents of the rules whose scope matches; every criterion given must match."""

    owner: str = Field(description="Who owns them: a dashboard user's name, a person or a team.")
    entity: str | None = Field(None, description="The rule's scope is about this entity (`contact`).")
    dimension: str | None = Field(None, description="The rule's scope is about this dimension (`freshness`).")
    check: str | None = Field(None, description="The rule's scope is a check matching this pattern (`accuracy.*`).")
    kind: str | None = Field(None, description="The rule is of this kind (`anomaly`, `run_failed` …).")


class IncidentsConfig(StrictModel):
    """A breached alert rule or an anomaly opens an incident, routed to an owner."""

    routes: list[IncidentRoute] = Field(default_factory=list, description="First match wins.")
    default_owner: str | None = Field(None, description="Owner when no route matches; empty = unassigned.")


class RetryConfig(StrictModel):
    """Retries of a scheduled run that failed (source down, statement timeout, lost connection)."""

    attempts: int = Field(3, ge=1, description="Tries per scheduled run, the first one included; 1 = no retry.")
    backoff_s: float = Field(30.0, ge=0, allow_inf_nan=False, description="Seconds to wait before the first retry.")
    backoff_factor: float = Field(2.0, ge=1, allow_inf_nan=False,
                                  description="Each further retry waits this many times longer.")
    max_backoff_s: float = Field(900.0, ge=0, allow_inf_nan=False,
                                 description="Longest wait between two tries, in seconds.")


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
    public_url: str | None = Field(None, description="The dashboard's address as people open it "
                                   "(https://dq.example.com): alerts link to their incident there.")
    session_minutes: int = Field(480, ge=1, description="A signed-in session expires after this many minutes.")
    users: list[UserConfig] = Field(default_factory=list, description="People who may sign in, with their role.")
    oidc_roles: dict[str, Literal["viewer", "steward", "admin"]] = Field(
        default_factory=dict,
        description="With an OIDC provider in .streamlit/secrets.toml ([auth], Streamlit's st.login): "
        "e-mail address → role of the people it signs in.",
    )


class ScoringConfig(StrictModel):
    """Score weights."""

    severity_weights: dict[str, Weight] = Field(
        default_factory=lambda: {"low": 1.0, "medium": 2.0, "high": 3.0, "critical": 5.0},
        description="Multiplier of a check's weight per severity.",
    )
    dimension_weights: dict[str, Weight] = Field(
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
    incidents: IncidentsConfig = Field(default_factory=IncidentsConfig, description="Incidents and their owners.")
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
        if err["loc"] and err["loc"][-1] in ("str", "list[str]") and isinstance(err.get("input"), dict):
            continue  # a field mapped as {…}: only the FieldSpec member's errors say what is wrong
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
    problems = config_problems(cfg)
    if problems:
        raise ConfigError("\n".join(problems))
    return cfg


def config_problems(cfg: Config) -> list[str]:
    """What the models cannot see key by key, each `location: problem; fix` (none: the config is sound)."""
    problems = []
    if not cfg.entities:
        problems.append("entities: none mapped; map at least one entity, e.g. "
                        "contact: {table: contacts, key: id, fields: {email: email}}")
    seen_rules: dict[str, str] = {}
    for name, ent in cfg.entities.items():
        known = list(CANONICAL_FIELDS[name])
        problems += [f"entities.{name}.fields.{field}: not a canonical field of {name}{suggest(field, known)}; "
                     f"use one of {', '.join(known)}, or map it under custom_fields" for field in ent.fields
                     if field not in known]
        problems += [f"entities.{name}.custom_fields.{field}: {field} is a canonical field of {name}; map it under fields"
                     for field in ent.custom_fields if field in known]
        problems += [f"entities.{name}.custom_fields.{field}: name it in snake_case (letters, digits, _), "
                     "e.g. region" for field in ent.custom_fields if not _FIELD_NAME.match(field)]
        for i, rule in enumerate(ent.rules):
            where = f"entities.{name}.rules[{i}] ({rule.id})"
            if rule.id in seen_rules:
                problems.append(f"{where}.id: {rule.id!r} is also a rule of {seen_rules[rule.id]}; give each rule its own id")
            seen_rules.setdefault(rule.id, name)
            problems += rule_problems(rule, list(ent.mapped()), where)
    problems += _weight_problems(cfg.scoring)
    channels = list(cfg.alerts.channels)
    problems += [f"alerts.rules[{i}] ({rule.name}).channels: no channel {name!r} under alerts.channels "
                 f"({', '.join(channels) or 'none defined'}){suggest(name, channels)}"
                 for i, rule in enumerate(cfg.alerts.rules) for name in rule.channels if name not in channels]
    problems += schedule_problems(cfg.schedule)
    if cfg.source.chunk_size > MAX_CHUNK_SIZE:
        problems.append(f"source.chunk_size: {cfg.source.chunk_size} rows is more than {MAX_CHUNK_SIZE:,}; "
                        "use the default (50000) or fewer")
    if cfg.source.statement_timeout_s > MAX_STATEMENT_TIMEOUT_S:
        problems.append(f"source.statement_timeout_s: {cfg.source.statement_timeout_s} seconds is more than "
                        f"{MAX_STATEMENT_TIMEOUT_S:,} (24 days); give fewer")
    return problems


# Per rule kind: the keys it must have and the ones it may have besides the common ones.
RULE_KEYS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "allowed_values": (("field", "values"), ()),
    "pattern": (("field", "regex"), ()),
    "range": (("field",), ("min", "max", "above", "below")),
    "required": (("field",), ()),
    "required_if": (("field", "when"), ()),
    "compare": (("field", "op", "other"), ()),
    "unique": (("fields",), ()),
    "reference": (("field", "to"), ()),
    "sql": (("sql",), ()),
}
_RULE_SPECIFIC = ("field", "fields", "values", "regex", "min", "max", "above", "below", "op", "other", "to", "sql")
_FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def rule_problems(rule, mapped: list[str], where: str) -> list[str]:
    """What is wrong with one rule, each `<where>.<key>: problem; fix` (the rule's own keys only)."""
    needs, may = RULE_KEYS[rule.kind]
    problems = [f"{where}.{key}: a {rule.kind} rule needs {key}" for key in needs if getattr(rule, key) in (None, [])]
    problems += [f"{where}.{key}: a {rule.kind} rule does not read {key}; remove it" for key in _RULE_SPECIFIC
                 if getattr(rule, key) is not None and key not in needs + may]
    judged = [rule.field] if rule.field else []
    judged += (rule.fields or []) + ([rule.other] if rule.other else [])
    key_of = {rule.field: "field", rule.other: "other"}
    problems += [f"{where}.{key_of.get(f, 'fields')}: field {f!r} is not mapped on this entity{suggest(f, mapped)}; "
                 "map it under fields or custom_fields" for f in dict.fromkeys(judged) if f not in mapped]
    if rule.kind == "range" and not any(getattr(rule, k) is not None for k in may):
        problems.append(f"{where}: a range rule needs at least one of min, max, above, below")
    bounds = {}
    for key in may if rule.kind == "range" else ():
        if getattr(rule, key) is not None:
            try:
                bounds[key] = parse_bound(getattr(rule, key))
            except ValueError as exc:
                problems.append(f"{where}.{key}: {exc}")
    if len({b.is_date for b in bounds.values()}) > 1:
        problems.append(f"{where}: its bounds mix numbers and dates; give all as numbers or all as dates")
    if rule.regex is not None:
        try:
            re.compile(rule.regex)
        except re.error as exc:
            problems.append(f"{where}.regex: not a regular expression ({exc})")
    if rule.to is not None and not re.fullmatch(r"[^.\s]+\.[^.\s]+", rule.to):
        problems.append(f"{where}.to: give the table and column as table.column, e.g. accounts.id")
    return problems + when_problems(rule.when, mapped, where)


def _weight_problems(scoring: ScoringConfig) -> list[str]:
    """Weights of severities or dimensions that do not exist, and weights that leave nothing to score."""
    problems = []
    for key, names, what in (("severity_weights", SEVERITIES, "severity"),
                             ("dimension_weights", DIMENSIONS, "dimension")):
        weights = getattr(scoring, key)
        problems += [f"scoring.{key}.{name}: unknown {what}{suggest(name, list(names))}; use {', '.join(names)}"
                     for name in weights if name not in names]
        if all(weights.get(name, 1.0) == 0 for name in names):  # (an unlisted one weighs 1)
            problems.append(f"scoring.{key}: every {what} weighs 0, so nothing can be scored; "
                            "give at least one a weight above 0")
    return problems


# -- cron expressions, read as the scheduler reads them ------------------------------------------------
def cron_fields(expr: str) -> list[str]:
    """The six fields of a cron expression, seconds first (`0` when five are given).

    Raises:
        ValueError: Neither five nor six fields.
    """
    fields = expr.split()
    if len(fields) == 5:
        fields = ["0", *fields]
    if len(fields) != 6:
        raise ValueError(f"{expr!r} has {len(fields)} fields; give five (minute hour day month weekday), "
                         "or six with seconds first")
    return fields


def crontab_weekdays(text: str) -> str:
    """Crontab weekday numbers (0/7 = Sunday) as APScheduler names; names and `*` pass through."""

    def one(part: str) -> list[str]:
        body, _, step = part.partition("/")
        if not re.fullmatch(r"\d+(-\d+)?", body):
            return [part]
        lo, _, hi = body.partition("-")
        start, end = int(lo), int(hi) if hi else (int(lo) if not step else 7)
        if not (0 <= start <= 7 and 0 <= end <= 7) or end < start:
            raise ValueError(f"weekday {part!r} is out of range (0-7, 0 and 7 = Sunday)")
        days = list(range(start, end + 1, int(step) if step else 1))
        return [_WEEKDAYS[d] for d in days]

    names: list[str] = []
    for part in text.split(","):
        for name in one(part):
            if name not in names:
                names.append(name)
    return ",".join(names)


def cron_calendar(expr: str) -> CronTrigger:
    """The wall-clock times a cron expression matches, as an APScheduler CronTrigger read in UTC.

    The scheduler maps these naive wall times onto the entry's timezone itself (daylight saving).

    Raises:
        ValueError: The expression cannot be read; the message names the field.
    """
    from apscheduler.triggers.cron import CronTrigger  # loaded only where a schedule is read

    second, minute, hour, day, month, weekday = cron_fields(expr)
    return CronTrigger(second=second, minute=minute, hour=hour, day=day, month=month,
                       day_of_week=crontab_weekdays(weekday), timezone=UTC)


def read_timezone(name: str) -> ZoneInfo:
    """The IANA timezone `name`.

    Raises:
        ValueError: No such timezone; the message names it and the fix.
    """
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown timezone {name!r}; use an IANA name such as Europe/Berlin or UTC") from None


def schedule_entry_problems(entry: ScheduleEntry, where: str) -> list[str]:
    """What the scheduler could not read in one entry: its timezone, its cron expression."""
    problems = []
    try:
        read_timezone(entry.timezone)
    except ValueError as exc:
        problems.append(f"{where}.timezone: {exc}")
    try:
        cron_calendar(entry.cron)
    except ValueError as exc:
        problems.append(f"{where}.cron: {entry.cron!r} is not a valid cron expression ({exc})")
    return problems


def schedule_problems(entries: list[ScheduleEntry]) -> list[str]:
    """Every problem of `schedule`: entries the scheduler could not read, and names given twice."""
    problems, seen = [], set()
    for i, entry in enumerate(entries):
        where = f"schedule[{i}] ({entry.name})"
        if entry.name in seen:
            problems.append(f"{where}.name: duplicate schedule name; names must be unique")
            continue
        seen.add(entry.name)
        problems += schedule_entry_problems(entry, where)
    return problems


# -- reading the file ------------------------------------------------------------------------------
def read_yaml(text: str, path: Path) -> Any:
    """The YAML document in `text`, refused when a mapping repeats a key or its aliases run wild.

    PyYAML keeps the last of two equal keys without a word, and builds aliases of aliases as shared
    objects that interpolation and validation would then walk in full (2 KB can stand for billions
    of values). So the composed document is checked, node by node, before it is built.

    Raises:
        ConfigError: One line: the file, the line where it helps, the key and the fix.
        yaml.YAMLError: The text is not YAML.
    """
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            return None
        _DocumentWalk(path).size(root, "")
        return loader.construct_document(root)
    finally:
        loader.dispose()


class _DocumentWalk:
    """Visits each node of a composed YAML document once: keys given twice, aliases, expanded size."""

    def __init__(self, path: Path):
        self.path = path
        self.sizes: dict[int, int | None] = {}  # node id → values it stands for (None: being visited)
        self.aliases = 0

    def size(self, node: yaml.Node, where: str) -> int:
        """How many values `node` stands for, aliases followed; raises ConfigError past the limits."""
        if id(node) in self.sizes:  # met before: reached again through an alias
            known = self.sizes[id(node)]
            if known is None:
                raise self._error(node, where, "an alias refers to the value that holds it; write the value out")
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                raise self._error(None, where, f"more than {MAX_ALIASES} YAML aliases (*name); write the values out")
            return known
        self.sizes[id(node)] = None
        total = 1
        if isinstance(node, yaml.MappingNode):
            self._refuse_repeated_keys(node, where)
            for key, value in node.value:
                total += self.size(key, where) + self.size(value, _key_path(where, key))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                total += self.size(item, f"{where}[{i}]")
        if total > MAX_VALUES:
            raise self._error(node, where, f"its aliases expand to more than {MAX_VALUES:,} values (an alias "
                                           "bomb?); write the values out")
        self.sizes[id(node)] = total
        return total

    def _refuse_repeated_keys(self, node: yaml.MappingNode, where: str) -> None:
        first: dict[tuple[str, str], int] = {}
        for key, _ in node.value:
            if not isinstance(key, yaml.ScalarNode) or key.tag == "tag:yaml.org,2002:merge":
                continue  # keys merged in with `<<` may be overridden: that is what merging is for
            seen = first.get((key.tag, key.value))
            if seen is not None:
                raise self._error(key, _key_path(where, key), f"given twice (first on line {seen}); keep one of them")
            first[(key.tag, key.value)] = key.start_mark.line + 1

    def _error(self, node: yaml.Node | None, where: str, problem: str) -> ConfigError:
        line = f":{node.start_mark.line + 1}" if node is not None else ""
        return ConfigError(f"{self.path}{line}: {where or 'config'}: {problem}")


def _key_path(where: str, key: yaml.Node) -> str:
    name = key.value if isinstance(key, yaml.ScalarNode) else "?"
    return f"{where}.{name}" if where else str(name)


# Where a URL holds a password, as SQLAlchemy reads it: `scheme://user:PASSWORD@host`, `?password=…`.
_URL_PASSWORD = re.compile(r"^[\w+]+://[^:/]*:(?P<user>[^@]*)@|[?&]password=(?P<query>[^&]*)")
_ENV_ONLY = re.compile(r"(?:\$\{[A-Za-z_][A-Za-z0-9_]*(?::-)?\})+")  # ${VAR}s, at most with an empty default
# The keys that may hold a password, and the variable to suggest for it.
SECRET_VARIABLES = {"source.url": "CLEANCRM_SOURCE_PASSWORD", "history.url": "CLEANCRM_HISTORY_PASSWORD",
                    "alerts.channels.*.password": "CLEANCRM_SMTP_PASSWORD"}


def _literal_password_spans(url: str) -> list[tuple[int, int]]:
    """Where a database URL holds a password that is not a `${VAR}` reference: (start, end) pairs."""
    spans = [m.span(group) for m in _URL_PASSWORD.finditer(url) for group in ("user", "query") if m.group(group)]
    return [(a, b) for a, b in spans if not _ENV_ONLY.fullmatch(url[a:b])]


def without_password(url: str, replacement: str) -> str:
    """The URL with each literal password replaced (by `${VAR}` for a config, `***` for a message)."""
    for start, end in reversed(_literal_password_spans(url)):
        url = url[:start] + replacement + url[end:]
    return url


def refuse_literal_passwords(data: dict[str, Any]) -> None:
    """Refuse a raw config (before `${ENV}` interpolation) that writes a password in the file.

    `source.url`, `history.url` and each `alerts.channels.*.password` may hold `${VAR}`
    references only, so the password lives in the environment and never in the file.

    Raises:
        ConfigError: One line per key, naming it and the fix (never the password).
    """
    problems = []
    for section in ("source", "history"):
        node = data.get(section)
        url = node.get("url") if isinstance(node, dict) else None
        if isinstance(url, str) and _literal_password_spans(url):
            variable = SECRET_VARIABLES[f"{section}.url"]
            problems.append(f"{section}.url: holds a literal password; write {without_password(url, f'${{{variable}}}')} "
                            f"and export {variable} with the password")
    alerts = data.get("alerts")
    channels = alerts.get("channels") if isinstance(alerts, dict) else None
    for name, channel in (channels or {}).items() if isinstance(channels, dict) else ():
        password = channel.get("password") if isinstance(channel, dict) else None
        if isinstance(password, str) and password and not _ENV_ONLY.fullmatch(password):
            variable = SECRET_VARIABLES["alerts.channels.*.password"]
            problems.append(f"alerts.channels.{name}.password: holds a literal password; write ${{{variable}}} "
                            f"and export {variable} with the password")
    if problems:
        raise ConfigError("\n".join(problems))


def load_config(path: str | Path) -> Config:
    """Read, interpolate and validate a `cleancrm.yml`; a password written in the file is refused."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path}: config file not found; create one with `cleancrm init --url URL`")
    if path.is_dir():
        raise ConfigError(f"{path}: is a folder, not a config file; give the path of cleancrm.yml")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the config file ({exc.strerror}); check its permissions") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(f"{path}:{line}: not UTF-8 text (byte 0x{raw[exc.start]:02x}); save the file as UTF-8") from None
    try:
        data = read_yaml(text, path)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise ConfigError(f"{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    except RecursionError:
        raise ConfigError(f"{path}: nested too deeply to read; a config needs a few levels of keys") from None

    if isinstance(data, dict):
        refuse_literal_passwords(data)  # the raw text, before ${ENV} puts the passwords in
    return parse_config(data, path.parent.resolve())
