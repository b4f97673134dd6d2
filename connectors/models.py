"""The models of what connectors read: an entity's mapping onto tables and columns, and the source.

Part of `cleancrm.yml` (`checks.config` composes them into the whole config); here, so that the
mapping, the presets and the source connections need nothing from the layers above them.
"""

from __future__ import annotations

from typing import Literal, Protocol

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
    required: list[str] = Field(default_factory=list, description="Canonical fields that must be filled.")


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
