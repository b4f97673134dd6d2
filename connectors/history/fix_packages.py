"""Fix packages in the history: what each package proposed, and what the runs after it found of each change."""

from __future__ import annotations

import json

import pandas as pd
import sqlalchemy as sa

from connectors.history import schema
from connectors.history.part import StorePart, utcnow

RECORDS = "(records)"  # the `field` of a status row that counts records, not values


class FixPackages(StorePart):
    """Records fix packages and their changes, and the status of each change run after run."""

    def record(self, source_name: str, manifest: dict, changes: pd.DataFrame, created_by: str | None) -> int:
        """Store a package (its manifest) and the changes of its apply files; its row id.

        `changes`: entity, record_key, column_name, field, old_value, new_value, checks.
        """
        with self.engine.begin() as conn:
            res = conn.execute(schema.fix_packages.insert().values(
                package_id=manifest["package_id"], source_name=source_name, run_id=int(manifest["run"]["id"]),
                created_at=utcnow(), created_by=created_by, format=manifest["format"],
                manifest=json.dumps(manifest, default=str)))
            package = int(res.inserted_primary_key[0])
            rows = [{**row, "package": package} for row in changes.to_dict("records")]
            if rows:
                conn.execute(schema.fix_changes.insert(), rows)
        return package

    def has(self, package_id: str) -> bool:
        """Whether the package is stored already."""
        t = schema.fix_packages
        return bool(len(self._frame(sa.select(t.c.id).where(t.c.package_id == package_id))))

    def list(self, source_name: str, limit: int | None = None) -> pd.DataFrame:
        """The source's packages, newest first: id, package_id, run_id, created_at, created_by, format, applied_run_id."""
        t = schema.fix_packages
        q = (sa.select(t.c.id, t.c.package_id, t.c.run_id, t.c.created_at, t.c.created_by, t.c.format,
                       t.c.applied_run_id).where(t.c.source_name == source_name).order_by(t.c.id.desc()))
        return self._frame(q.limit(limit) if limit else q)

    def changes(self, package: int) -> pd.DataFrame:
        """A package's changes with their newest status."""
        t = schema.fix_changes
        return self._frame(sa.select(t).where(t.c.package == package))

    def save_status(self, run_id: int, package: int, changes: pd.DataFrame, counts: pd.DataFrame,
                    applied: bool) -> None:
        """What run `run_id` found of a package: each change's status, and the counts per entity, field and status.

        `changes`: entity, record_key, column_name, status, applied_run_id. `counts`: entity, field,
        status, count. `applied`: the run found some change made (the first such run is kept).
        """
        c, p = schema.fix_changes, schema.fix_packages
        with self.engine.begin() as conn:
            for row in changes.to_dict("records"):
                conn.execute(c.update().where(c.c.package == package, c.c.entity == row["entity"],
                                              c.c.record_key == row["record_key"],
                                              c.c.column_name == row["column_name"])
                             .values(status=row["status"], applied_run_id=row["applied_run_id"]))
            conn.execute(schema.fix_status.delete().where(schema.fix_status.c.run_id == run_id,
                                                          schema.fix_status.c.package == package))
            rows = [{**row, "run_id": run_id, "package": package} for row in counts.to_dict("records")]
            if rows:
                conn.execute(schema.fix_status.insert(), rows)
            if applied:
                conn.execute(p.update().where(p.c.id == package, p.c.applied_run_id.is_(None))
                             .values(applied_run_id=run_id))

    def status(self, run_id: int) -> pd.DataFrame:
        """What a run found of every package: package_id, entity, field, status, count."""
        s, p = schema.fix_status, schema.fix_packages
        q = (sa.select(p.c.package_id, s.c.entity, s.c.field, s.c.status, s.c["count"])
             .join(p, p.c.id == s.c.package).where(s.c.run_id == run_id)
             .order_by(p.c.id, s.c.entity, s.c.field, s.c.status))
        return self._frame(q)
