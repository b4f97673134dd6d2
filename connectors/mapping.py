"""Canonical entities and fields ↔ the CRM's tables and columns.

A canonical field maps to a column, a list of columns (several phones), an SQL expression, or a
column reached through LEFT JOINs. `EntityQuery` turns an entity's mapping into one SELECT that
reads only the fields asked for; `validate_mapping` checks a config against the live schema and
returns every problem at once.

The config's SQL fragments (`soft_delete`, `filter`, a field's `sql`, a join's `on`) are pasted into
those SELECTs, so each must be one harmless SQL expression for the source's dialect
(`connectors.source.fragments`): `validate_mapping` refuses any other before sending anything to
the database, and `EntityQuery` never builds a SELECT around one.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from connectors.errors import ConfigError
from connectors.models import DerivedFlag, EntityConfig, FieldSpec, MappedConfig
from connectors.source import Source, suggest
from connectors.source.fragments import fragment_problem
from connectors.source.guard import refusal_reason
from connectors.source.predicates import literal

KEY = "__key"

CANONICAL_FIELDS: dict[str, tuple[str, ...]] = {
    "contact": ("first_name", "last_name", "email", "phone", "title", "account_id", "owner_id", "street",
                "city", "state", "postal_code", "country", "created_at", "modified_at"),
    "account": ("name", "phone", "website", "street", "city", "state", "postal_code", "country", "owner_id",
                "created_at", "modified_at"),
    "lead": ("first_name", "last_name", "email", "phone", "company", "status", "street", "city", "state",
             "postal_code", "country", "owner_id", "created_at", "modified_at", "converted"),
    "opportunity": ("name", "amount", "stage", "is_won", "is_closed", "close_date", "account_id", "owner_id",
                    "created_at", "modified_at"),
    "user": ("first_name", "last_name", "email", "active", "team", "created_at", "modified_at"),
}


@dataclass(frozen=True)
class FieldColumn:
    """One value a canonical field reads: its frame label, its SQL, and the column users know."""

    field: str
    label: str
    sql: str
    column: str


@dataclass(frozen=True)
class JoinClause:
    """A LEFT JOIN needed by some field."""

    sql: str
    table: str
    alias: str


@dataclass(frozen=True)
class Fragment:
    """One SQL fragment of an entity's mapping: where it is in the config, its text, a sound example."""

    key: str
    sql: str
    example: str


def plain_columns(mapping) -> list[str]:
    """The entity-table columns a field mapping names directly: a column, a list, or `columns:` (SQL and joins name none).

    Reads a mapping as the config model holds it and as a config dict written by `init` holds it.
    """
    if isinstance(mapping, str):
        return [mapping]
    if isinstance(mapping, list):
        return list(mapping)
    columns = mapping.get("columns") if isinstance(mapping, dict) else getattr(mapping, "columns", None)
    return list(columns or [])


def entity_fragments(name: str, ent: EntityConfig) -> Iterator[Fragment]:
    """The SQL fragments of an entity's mapping, each with its config key."""
    where = f"entities.{name}"
    if ent.soft_delete:
        yield Fragment(f"{where}.soft_delete", ent.soft_delete, "deleted = 1")
    if ent.filter:
        yield Fragment(f"{where}.filter", ent.filter, "status = 'active'")
    for section, fields in (("fields", ent.fields), ("custom_fields", ent.custom_fields)):
        for field, mapping in fields.items():
            if not isinstance(mapping, FieldSpec):
                continue
            if mapping.sql:
                yield Fragment(f"{where}.{section}.{field}.sql", mapping.sql, "LOWER(email)")
            for i, step in enumerate(mapping.join or []):
                yield Fragment(f"{where}.{section}.{field}.join[{i}].on", step.on,
                               f"{step.table}.id = {ent.table}.{ent.key}")


def fragment_errors(name: str, ent: EntityConfig, dialect: str) -> list[str]:
    """One line for each SQL fragment of the entity that is not one harmless SQL expression for `dialect`."""
    return [f"{fragment.key}: {problem}; write one SQL expression, e.g. {fragment.example}"
            for fragment in entity_fragments(name, ent) if (problem := fragment_problem(fragment.sql, dialect))]


class EntityQuery:
    """Builds the SELECT that reads an entity's mapped fields from the source."""

    def __init__(self, source: Source, name: str, cfg: EntityConfig):
        # Every path that reads the source builds its SELECTs here: refuse a hostile fragment first.
        if errors := fragment_errors(name, cfg, source.dialect):
            raise ConfigError("\n".join(errors))
        self.source, self.name, self.cfg = source, name, cfg
        self.mapped = cfg.mapped()  # canonical, derived and custom fields, by name
        self.alias = source.quote(cfg.table)

    def field_columns(self, field: str) -> list[FieldColumn]:
        """The values a canonical field reads (several for a list of columns)."""
        mapping = self.mapped.get(field)
        if mapping is None:
            return []
        if isinstance(mapping, DerivedFlag):
            source_sql = self.field_columns(mapping.field)[0].sql
            values = ", ".join(literal(v.strip().lower(), self.source.dialect) for v in mapping.values)
            sql = f"(CASE WHEN LOWER(TRIM({source_sql})) IN ({values}) THEN 1 ELSE 0 END)"
            return [FieldColumn(field, field, sql, f"{field} (from {mapping.field})")]
        if isinstance(mapping, str):
            return [FieldColumn(field, field, self._col(mapping), mapping)]
        if isinstance(mapping, list):
            return [FieldColumn(field, f"{field}:{c}", self._col(c), c) for c in mapping]
        if mapping.columns:
            return [FieldColumn(field, f"{field}:{c}", self._col(c), c) for c in mapping.columns]
        if mapping.sql:
            return [FieldColumn(field, field, f"({mapping.sql})", field)]
        table, _, col = (mapping.column or "").rpartition(".")
        return [FieldColumn(field, field, f"{self.source.quote(table)}.{self.source.quote(col)}", mapping.column or "")]

    def _col(self, column: str) -> str:
        return f"{self.alias}.{self.source.quote(column)}"

    def joins(self, fields: Iterable[str]) -> list[JoinClause]:
        """The distinct LEFT JOINs the given fields need, in order."""
        out: dict[tuple[str, str], JoinClause] = {}
        for f in fields:
            mapping = self.mapped.get(f)
            if isinstance(mapping, DerivedFlag):  # derived from another field: that field's joins
                mapping = self.mapped.get(mapping.field)
            if isinstance(mapping, FieldSpec) and mapping.join:
                for step in mapping.join:
                    ref = self.source.table_ref(step.table)
                    out.setdefault((step.table, step.on), JoinClause(f"LEFT JOIN {ref} ON {step.on}", step.table, step.table))
        return list(out.values())

    def where(self) -> str:
        """Soft-deleted rows out, the entity's filter in."""
        parts = []
        if self.cfg.soft_delete:
            # CASE keeps a NULL flag from hiding the row, and works with booleans and integers alike.
            parts.append(f"(CASE WHEN ({self.cfg.soft_delete}) THEN 1 ELSE 0 END) = 0")
        if self.cfg.filter:
            parts.append(f"({self.cfg.filter})")
        return " WHERE " + " AND ".join(parts) if parts else ""

    def select(self, fields: Iterable[str]) -> tuple[str, list[FieldColumn]]:
        """SQL reading the key and the mapped ones of `fields`, and the columns it returns."""
        wanted = [f for f in dict.fromkeys(fields) if f in self.mapped]
        cols = [fc for f in wanted for fc in self.field_columns(f)]
        q = self.source.quote
        items = [f"{self._col(self.cfg.key)} AS {q(KEY)}"] + [f"{fc.sql} AS {q(fc.label)}" for fc in cols]
        joins = " ".join(j.sql for j in self.joins(wanted))
        sql = f"SELECT {', '.join(items)} FROM {self.source.table_ref(self.cfg.table)} {joins}{self.where()}"
        return sql, cols

    def boundaries_sql(self) -> str:
        """SQL giving every `:size`-th live key in key order (the first excluded): where ranges start.

        One window query, answered from the key's index, instead of reading every key.
        """
        q = self.source.quote
        numbered = (f"SELECT {self._col(self.cfg.key)} AS {q(KEY)}, ROW_NUMBER() OVER (ORDER BY "
                    f"{self._col(self.cfg.key)}) AS rn FROM {self.source.table_ref(self.cfg.table)}{self.where()}")
        return f"SELECT b.{q(KEY)} FROM ({numbered}) b WHERE b.rn > 1 AND (b.rn - 1) % :size = 0 ORDER BY b.rn"

    def range_select(self, fields: Iterable[str]):
        """Like `select`, as a function of a key range: (low, high) → (SQL, parameters).

        `low` is included and `high` excluded; None leaves that side open (records without a key
        go with the first range), so consecutive ranges read every record exactly once.
        """
        sql, _ = self.select(fields)
        key = self._col(self.cfg.key)
        glue = " AND " if self.where() else " WHERE "

        def for_range(low, high) -> tuple[str, dict]:
            conditions, params = [], {}
            if low is not None:
                conditions.append(f"{key} >= :low")
                params["low"] = low
            if high is not None:
                conditions.append(f"{key} < :high" if low is not None else f"({key} < :high OR {key} IS NULL)")
                params["high"] = high
            return (sql + glue + " AND ".join(conditions) if conditions else sql), params

        return for_range

    def keys_select(self, fields: Iterable[str]):
        """Like `select`, for the live records with the given keys: keys → (SQL, parameters).

        Each key is a bound parameter (`:k0, :k1 …`), never text in the SQL; pass keys of the key
        column's type (a database compares an integer column with text differently, or not at all).
        """
        sql, _ = self.select(fields)
        key = self._col(self.cfg.key)
        glue = " AND " if self.where() else " WHERE "

        def for_keys(keys: list) -> tuple[str, dict]:
            params = {f"k{i}": k for i, k in enumerate(keys)}
            return f"{sql}{glue}{key} IN ({', '.join(':' + name for name in params) or 'NULL'})", params

        return for_keys

    def typed_keys(self, keys: Iterable[str]) -> list:
        """Record keys (as text) as the key column's type, to bind in `keys_select`: integers for an integer key."""
        kind = self.source.column_types(self.cfg.table).get(self.cfg.key)
        try:
            is_int = kind is not None and kind.python_type is int
        except NotImplementedError:  # a dialect type without a Python equivalent: compare as text
            is_int = False
        if is_int:
            return [int(k) for k in keys if str(k).lstrip("-").isdigit()]
        return list(keys)

    def count_sql(self) -> str:
        """SQL counting the entity's live rows."""
        return f"SELECT COUNT(*) FROM {self.source.table_ref(self.cfg.table)}{self.where()}"


def validate_mapping(cfg: MappedConfig, source: Source) -> list[str]:
    """Every problem between the config and the live schema, each `location: problem; hint`.

    SQL fragments that are not one harmless expression are refused first: then nothing of the
    config is sent to the database, not even to probe it.
    """
    refused = [error for name, ent in cfg.entities.items() for error in fragment_errors(name, ent, source.dialect)]
    if refused:
        return refused + _reference_errors(cfg)
    errors: list[str] = []
    tables = source.tables()
    for name, ent in cfg.entities.items():
        errors += _validate_entity(source, tables, name, ent)
    return errors + _reference_errors(cfg)


def mapped_tables(cfg: MappedConfig) -> list[str]:
    """The source tables a config reads: each entity's table and the tables its fields join."""
    tables = {ent.table for ent in cfg.entities.values()}
    for ent in cfg.entities.values():
        for mapping in ent.mapped().values():
            if isinstance(mapping, FieldSpec):
                tables |= {step.table for step in mapping.join or []}
    return sorted(tables)


def _reference_errors(cfg: MappedConfig) -> list[str]:
    errors = []
    for i, ref in enumerate(cfg.references):
        ent_name, _, field = ref.from_.partition(".")
        where = f"references[{i}]"
        if ent_name not in cfg.entities or field not in cfg.entities[ent_name].fields:
            errors.append(f"{where}.from: {ref.from_!r} is not a mapped entity field; write it as entity.field")
        if ref.to not in cfg.entities:
            errors.append(f"{where}.to: entity {ref.to!r} is not configured; add it under entities or drop the reference")
    return errors


def _validate_entity(source: Source, tables: list[str], name: str, ent: EntityConfig) -> list[str]:
    where = f"entities.{name}"
    if ent.table not in tables:
        return [f"{where}.table: no table {ent.table!r} in the source{suggest(ent.table, tables)}"]
    columns = source.columns(ent.table)
    errors = []
    if ent.key not in columns:
        errors.append(f"{where}.key: no column {ent.key!r} in table {ent.table}{suggest(ent.key, columns)}")
    if not ent.fields:
        errors.append(f"{where}.fields: no fields mapped; map at least one canonical field, e.g. email: Email")
    for field, mapping in ent.fields.items():
        errors += _validate_field(source, tables, f"{where}.fields.{field}", ent.table, columns, mapping)
    for field, mapping in ent.custom_fields.items():
        errors += _validate_field(source, tables, f"{where}.custom_fields.{field}", ent.table, columns, mapping)
    mapped = ent.mapped()
    for key in ("required", "expected"):
        errors += [f"{where}.{key}: field {field!r} is not mapped; map it under fields or remove it"
                   for field in getattr(ent, key) if field not in mapped]
    if errors:
        return errors
    base = f"FROM {source.table_ref(ent.table)}"
    for key in ("soft_delete", "filter"):
        expr = getattr(ent, key)
        if expr and (err := source.try_sql(f"SELECT 1 {base} WHERE ({expr}) AND 1 = 0")):
            errors.append(f"{where}.{key}: SQL {expr!r} fails on table {ent.table} ({err})")
    if errors:  # every field's probe would fail on the same WHERE: report it once
        return errors
    query = EntityQuery(source, name, ent)
    for field in mapped:
        sql, _ = query.select([field])
        if err := source.try_sql(f"SELECT * FROM ({sql}) AS probe WHERE 1 = 0"):
            section = "fields" if field in ent.fields else "custom_fields"
            errors.append(f"{where}.{section}.{field}: its SQL fails ({err}); check the expression or join")
    errors += _rule_errors(source, tables, where, ent)
    if not errors and not source.scalar(query.count_sql()):  # (wrapping it in COUNT(*) always gave 1)
        errors.append(f"{where}: table {ent.table} has no live rows; remove the entity or check its soft_delete/filter")
    return errors


def _rule_errors(source: Source, tables: list[str], where: str, ent: EntityConfig) -> list[str]:
    """The rules' tables, columns and queries against the live schema (their keys are checked on loading)."""
    errors = []
    for i, rule in enumerate(ent.rules):
        at = f"{where}.rules[{i}] ({rule.id})"
        if rule.kind == "reference" and rule.to and "." in rule.to:
            table, _, column = rule.to.partition(".")
            if table not in tables:
                errors.append(f"{at}.to: no table {table!r} in the source{suggest(table, tables)}")
            elif column not in (cols := source.columns(table)):
                errors.append(f"{at}.to: no column {column!r} in table {table}{suggest(column, cols)}")
        if rule.kind == "sql" and rule.sql:
            if reason := refusal_reason(rule.sql, source.dialect):
                errors.append(f"{at}.sql: refused ({reason}); give one read-only SELECT returning the failing keys")
            elif err := source.try_sql(f"SELECT * FROM ({rule.sql}) AS probe WHERE 1 = 0"):
                errors.append(f"{at}.sql: the query fails ({err}); check it against the source")
    return errors


def _validate_field(source, tables, where, table, columns, mapping) -> list[str]:
    if isinstance(mapping, list) and not mapping or isinstance(mapping, FieldSpec) and mapping.columns == []:
        return [f"{where}: an empty list of columns; name at least one column or remove the field"]
    if isinstance(mapping, str) or isinstance(mapping, list) or (isinstance(mapping, FieldSpec) and mapping.columns):
        names = plain_columns(mapping)
        return [f"{where}: no column {c!r} in table {table}{suggest(c, columns)}" for c in names if c not in columns]
    if mapping.sql:
        return []
    if not mapping.column or "." not in mapping.column:
        return [f"{where}: give `columns`, `sql`, or `column: table.column` with `join`"]
    errors = []
    joined = {step.table for step in mapping.join or []}
    jtable, _, jcol = mapping.column.rpartition(".")
    for step in mapping.join or []:
        if step.table not in tables:
            errors.append(f"{where}.join: no table {step.table!r} in the source{suggest(step.table, tables)}")
    if not errors:
        if jtable not in joined and jtable != table:
            errors.append(f"{where}.column: table {jtable!r} is not joined; add it under join")
        elif jcol not in (jcols := source.columns(jtable)):
            errors.append(f"{where}.column: no column {jcol!r} in table {jtable}{suggest(jcol, jcols)}")
    return errors
