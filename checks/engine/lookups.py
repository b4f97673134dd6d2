"""Named look-ups: what a check may ask about other entities, read once per run.

A check names the look-ups it reads in its `lookups` attribute; the engine prepares them before an
entity's rows stream (so forked workers inherit them) and hands them to the check through
`Context.lookup(name)`. A look-up is one small class registered under its name: adding one never
touches the engine.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import pandas as pd

from checks.base import prepared_column
from checks.fields import reset_memo
from checks.values import as_keys, value_text
from connectors.mapping import KEY
from connectors.source.columnar import columnar_available, frame_from_arrow, read_arrow

if TYPE_CHECKING:
    from checks.engine.measure import Measurer

LOOKUPS: dict[str, type[Lookup]] = {}


def read_entity(measurer: Measurer, entity: str, fields: list[str]) -> pd.DataFrame:
    """Every live record of `entity` with the given fields (and the key)."""
    sql, _ = measurer.queries[entity].select(fields)
    if columnar_available(measurer.source):  # as columns: no Python row per record
        return frame_from_arrow(read_arrow(measurer.source, sql))
    frames = list(measurer.source.stream(sql, measurer.cfg.source.chunk_size))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=[KEY, *fields])


def owner_directory(measurer: Measurer) -> pd.DataFrame | None:
    """The CRM users as owners: owner id (as findings carry it), name, team and active flag.

    Names are first and last name as the CRM writes them; no e-mail address is kept. None when
    the config maps no `user` entity.
    """
    cfg = measurer.cfg
    if "user" not in cfg.entities:
        return None
    mapped = cfg.entities["user"].mapped()
    fields = [f for f in ("first_name", "last_name", "team", "active") if f in mapped]
    users = read_entity(measurer, "user", fields)

    def text(f: str) -> pd.Series:  # bytes a CRM mis-encoded become text too (value_text), never an error
        values = users[f].map(value_text) if f in users else pd.Series(None, index=users.index, dtype=object)
        return values.fillna("").astype(str).str.strip()

    text = {f: text(f) for f in ("first_name", "last_name", "team")}
    name = (text["first_name"] + " " + text["last_name"]).str.strip()
    active = (users["active"].map(lambda v: None if pd.isna(v) else int(bool(v))) if "active" in users
              else pd.Series(None, index=users.index, dtype=object))
    return pd.DataFrame({"owner": as_keys(users[KEY]), "name": name.where(name != "", None),
                         "team": text["team"].where(text["team"] != "", None), "active": active}
                        ).drop_duplicates("owner").reset_index(drop=True)


class Lookup:
    """One look-up of a run; `__call__` answers the checks, `prepare` reads ahead what they will ask."""

    name: ClassVar[str]

    def __init_subclass__(cls, name: str, **kwargs: Any):
        super().__init_subclass__(**kwargs)
        if name in LOOKUPS:
            raise ValueError(f"look-up {name!r} is defined twice")
        cls.name = name
        LOOKUPS[name] = cls

    def __init__(self, measurer: Measurer):
        self.measurer = measurer
        self.cache: dict[Any, Any] = {}

    def prepare(self, params: dict) -> None:
        """Read what a planned check with these parameters will ask, before the rows stream."""
        self()

    def after_entity(self, entity: str, whole: pd.DataFrame) -> None:
        """See an entity's gathered records after its pass (to keep what a later entity will ask)."""

    def read(self, entity: str, fields: list[str]) -> pd.DataFrame:
        """Every live record of `entity` with the given fields."""
        return read_entity(self.measurer, entity, fields)

    def __call__(self, *args):  # noqa: D102
        raise NotImplementedError


class LiveKeys(Lookup, name="live_keys"):
    """Keys of an entity's live (not soft-deleted) records: `lookup("live_keys")("account")`."""

    def prepare(self, params: dict) -> None:  # noqa: D102
        for _, target in params.get("_references", []):
            self(target)

    def __call__(self, entity: str) -> set[str]:  # noqa: D102
        if entity not in self.cache:
            mapped = entity in self.measurer.queries
            self.cache[entity] = set(as_keys(self.read(entity, [])[KEY]).dropna()) if mapped else set()
        return self.cache[entity]


class InactiveUsers(Lookup, name="inactive_users"):
    """Keys of users whose active flag is false; None when users or their flag are unmapped."""

    def __call__(self) -> set[str] | None:  # noqa: D102
        if "inactive" not in self.cache:
            ent = self.measurer.cfg.entities.get("user")
            if ent is None or "active" not in ent.fields:
                self.cache["inactive"] = None
            else:
                from checks.dimensions.consistency import inactive_user_keys

                users = self.read("user", ["active"])
                users[KEY] = as_keys(users[KEY])
                self.cache["inactive"] = inactive_user_keys(users, "active")
        return self.cache["inactive"]


class ContactEmails(Lookup, name="contact_emails"):
    """A contact's email duplicate key (duplication.exact_email's) → the contact's key; None unmapped.

    Kept from the contact pass when exact email duplicates ran on contacts, so leads need no second
    read of the contacts.
    """

    def __call__(self) -> dict[str, str] | None:  # noqa: D102
        if "emails" not in self.cache:
            ent = self.measurer.cfg.entities.get("contact")
            if ent is None or "email" not in ent.fields:
                self.cache["emails"] = None
            else:
                from checks.dimensions.duplication import email_key

                frame = self.read("contact", ["email"])
                self._remember(frame, email_key(frame, self.measurer.queries["contact"].field_columns("email")[0]))
                reset_memo()
        return self.cache["emails"]

    def after_entity(self, entity: str, whole: pd.DataFrame) -> None:  # noqa: D102
        from checks.dimensions.duplication import ExactEmail

        column = prepared_column(ExactEmail)
        if entity == "contact" and column in whole and "emails" not in self.cache:
            self._remember(whole, whole[column])

    def _remember(self, frame: pd.DataFrame, keys: pd.Series) -> None:
        pairs = pd.DataFrame({"email": keys, "key": as_keys(frame[KEY])}).dropna().drop_duplicates("email")
        self.cache["emails"] = dict(zip(pairs.email, pairs.key, strict=True))


class RuleKeys(Lookup, name="rule_keys"):
    """Per rule id, the key set a `reference` rule looks values up in, or the keys a `sql` rule returns.

    Read through the source like every other statement: the guard refuses a query that could write
    and the statement timeout bounds it. Keys are compared as text (`values.as_keys`).
    """

    def prepare(self, params: dict) -> None:  # noqa: D102
        rule = params.get("_rule")
        if rule is not None and rule.id not in self.cache:
            source = self.measurer.source
            if rule.kind == "sql":
                sql = rule.sql
            else:
                table, _, column = rule.to.partition(".")
                sql = f"SELECT DISTINCT {source.quote(column)} FROM {source.table_ref(table)}"
            keys: set[str] = set()
            for chunk in source.stream(sql, self.measurer.cfg.source.chunk_size):
                keys |= set(as_keys(chunk.iloc[:, 0]).dropna())
            self.cache[rule.id] = keys

    def __call__(self, rule_id: str) -> set[str]:  # noqa: D102
        return self.cache[rule_id]


class TableShape(Lookup, name="table_shape"):
    """An entity table's columns with their types (reflected) and its live row count."""

    def prepare(self, params: dict) -> None:  # noqa: D102 - read when the entity's check asks (in this process)
        return None

    def __call__(self, entity: str) -> dict:  # noqa: D102
        if entity not in self.cache:
            measurer = self.measurer
            table = measurer.cfg.entities[entity].table
            columns = {name: str(kind) for name, kind in measurer.source.column_types(table).items()}
            aggregates = measurer.shared["aggregates"].get(entity)
            rows = aggregates["rows"] if aggregates else measurer.source.scalar(measurer.queries[entity].count_sql())
            self.cache[entity] = {"columns": columns, "rows": int(rows or 0)}
        return self.cache[entity]
