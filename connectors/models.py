"""The models of what connectors read: an entity's mapping onto tables and columns, and the source.

Part of `cleancrm.yml` (`checks.config` composes them into the whole config); here, so that the
mapping, the presets and the source connections need nothing from the layers above them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

ENTITY_NAMES = ("contact", "account", "lead", "opportunity", "user")
EntityName = Literal["contact", "account", "lead", "opportunity", "user"]


class StrictModel(BaseModel):
    """A config section: unknown keys are errors, not silently ignored."""

    model_config = ConfigDict(extra="forbid")


class JoinStep(StrictModel):
    """One LEFT JOIN on the way from an entity's table to a field's column."""

    table: str = Field(description="Table to join.")
    on: str = Field(description="SQL join condition, e.g. `rel.bean_id = contacts.id AND rel.deleted = 0`.")


class FieldSpec(StrictModel):
    """A canonical field mapped to something other than one plain column."""

    columns: list[str] | None = Field(None, description="Several columns holding the same kind of value.")
    sql: str | None = Field(None, description="An SQL expression over the entity's table.")
    column: str | None = Field(None, description="`table.column` reached through `join`.")
    join: list[JoinStep] | None = Field(None, description="LEFT JOINs leading to `column`.")


FieldMapping = str | list[str] | FieldSpec


@dataclass(frozen=True)
class DerivedFlag:
    """A flag the CRM does not store, derived from another field: 1 where its value is one of `values`.

    `is_won` and `is_closed` from the stage (`won_stages`, `closed_stages`), compared with case and
    surrounding spaces ignored.
    """

    field: str
    values: tuple[str, ...]


RuleKind = Literal["allowed_values", "pattern", "range", "required", "required_if", "compare", "unique",
                   "reference", "sql"]


class RuleConfig(StrictModel):
    """One rule of the team's own: a kind, the field(s) it judges, and how it is scored.

    `when` limits it to the records where other fields hold given values: `{stage: Closed Won}`,
    `{stage: [Closed Won, Won]}`, `{amount: {above: 0}}`, `{country: {not: US}}`, `{email: {filled: true}}`.
    Values are compared as the field's text with case and surrounding spaces ignored.
    """

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="Unique name, snake_case; the check is `rule.<id>`.")
    kind: RuleKind = Field(description="allowed_values, pattern, range, required, required_if, compare, unique, "
                           "reference or sql.")
    description: str | None = Field(None, description="One line saying what the rule wants, shown with its findings.")
    field: str | None = Field(None, description="The field the rule judges (all kinds but unique and sql).")
    fields: list[str] | None = Field(None, description="unique: the fields that together must not repeat.")
    values: list[str] | None = Field(None, description="allowed_values: the picklist, in its canonical spelling.")
    regex: str | None = Field(None, description="pattern: a regular expression the whole value must match.")
    min: float | date | datetime | str | None = Field(None, description="range: lowest allowed value (inclusive): a number, a date, "
                                    "or relative to the run: `now - 10 years`, `now + 30 days`.")
    max: float | date | datetime | str | None = Field(None, description="range: highest allowed value (inclusive), as `min`.")
    above: float | date | datetime | str | None = Field(None, description="range: the value must be greater than this.")
    below: float | date | datetime | str | None = Field(None, description="range: the value must be less than this.")
    op: Literal[">=", ">", "<=", "<", "==", "!="] | None = Field(
        None, description="compare: how `field` must relate to `other`, e.g. `>=`.")
    other: str | None = Field(None, description="compare: the field `field` is compared with.")
    to: str | None = Field(None, description="reference: `table.column` every value must be found in.")
    sql: str | None = Field(None, description="sql: a read-only SELECT returning the keys of the failing records "
                            "(first column); run with the source's statement timeout.")
    when: dict[str, Any] | None = Field(None, description="Only records whose fields hold these values are judged.")
    dimension: Literal["accuracy", "completeness", "consistency", "duplication", "freshness"] | None = Field(
        None, description="Quality dimension it counts to; default by kind (accuracy; completeness for required, "
        "duplication for unique, consistency for reference and compare).")
    severity: Literal["low", "medium", "high", "critical"] = Field("medium", description="Severity of its findings.")
    weight: float = Field(1.0, ge=0, allow_inf_nan=False, description="Weight in the entity's score.")
    suggested: bool = Field(False, description="Written by `cleancrm init` from a profile of the data, to accept or drop.")
    enabled: bool = Field(True, description="Set false to keep the rule without running it.")


class EntityConfig(StrictModel):
    """How one canonical entity (contact, account …) lies in the CRM."""

    table: str = Field(description="Table (or export file) holding the entity.")
    key: str = Field(description="Primary-key column; findings are stored by its value.")
    soft_delete: str | None = Field(
        None, description="SQL predicate true for soft-deleted rows, e.g. `deleted = 1`; they are never checked."
    )
    filter: str | None = Field(None, description="Optional SQL predicate limiting the rows checked.")
    fields: dict[str, FieldMapping] = Field(
        default_factory=dict, description="Canonical field → column, list of columns, {sql}, or {join, column}."
    )
    required: list[str] = Field(default_factory=list, description="Canonical or custom fields that must be filled.")
    expected: list[str] = Field(default_factory=list, description="Fields that should be filled but may be "
                                "empty: each empty one is a low-severity finding (completeness.expected), so it can "
                                "be worked as a worklist without making the field required.")
    custom_fields: dict[str, FieldMapping] = Field(
        default_factory=dict, description="Fields of the CRM's own (e.g. `region: Region__c`), mapped like `fields`; "
        "rules and `required` may name them, the built-in checks do not read them.")
    rules: list[RuleConfig] = Field(default_factory=list, description="The team's own rules on this entity; "
                                    "each is scored and reported like a built-in check.")

    won_stages: list[str] | None = Field(None, description="Opportunities without an is_won column: the stages "
                                         "that mean won; is_won is derived from the stage.")
    closed_stages: list[str] | None = Field(None, description="Opportunities without an is_closed column: the "
                                            "stages that mean closed (won or lost); is_closed is derived from the stage.")

    def mapped(self) -> dict[str, FieldMapping | DerivedFlag]:
        """Every mapped field, canonical, derived from the stage and custom, by name."""
        out: dict[str, FieldMapping | DerivedFlag] = dict(self.fields)
        for flag, stages in (("is_won", self.won_stages), ("is_closed", self.closed_stages)):
            if stages and flag not in out and "stage" in out:
                out[flag] = DerivedFlag("stage", tuple(stages))
        return {**out, **self.custom_fields}


class ReferenceConfig(StrictModel):
    """A link between entities, checked for orphans."""

    name: str | None = Field(None, description="Name shown in findings; default `<from>_to_<entity>`.")
    from_: str = Field(alias="from", description="`entity.field` holding the foreign key, e.g. `contact.account_id`.")
    to: str = Field(description="Entity the key points at; its soft deletes count as missing.")
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class SourceConfig(StrictModel):
    """The CRM database, read-only."""

    url: str = Field(description="SQLAlchemy URL, or `csv:///dir` / `xlsx:///file.xlsx`; `${ENV}` allowed.")
    schema_: str | None = Field(None, alias="schema", description="Database schema holding the CRM tables.")
    statement_timeout_s: int = Field(600, ge=1, description="Longest a single query may run, in seconds.")
    chunk_size: int = Field(50_000, ge=100, description="Rows per streamed chunk.")
    pushdown: Literal["auto", "always", "never"] = Field(
        "auto", description="Settle the records that certainly pass a check without reading them into Python, so "
        "only the others are judged there: `auto` where measured faster (PostgreSQL, when every row check of an "
        "entity settles), `always`, or `never`.")
    model_config = ConfigDict(extra="forbid", populate_by_name=True)



class MappedConfig(Protocol):
    """What the mapping's validation reads of a config: its entities and references."""

    entities: dict[str, EntityConfig]
    references: list[ReferenceConfig]
