"""Selecting the leads of a push: the filter language over a lead table, read in pages.

The selection is read in key order with keyset paging (``WHERE key > last key ORDER BY key
LIMIT n``): each page is one short read-only query, memory stays bounded whatever the number
of leads, and leads an extract adds while the push runs cannot shift pages (no lead is seen
twice or skipped because of them).

A lead table is the canonical ``leads`` view (identity columns ``system``, ``source``,
``lead_id``) or a table a system writes (``kpro_leads``, ``ovipro_leads``…; identity from
its key columns, e.g. ``_source`` + ``id``). A system table's rows also carry the canonical
columns of the ``leads`` view they lack (``email``, ``phone``, ``first_name``…), so every
destination finds the contact fields whatever the table.

Example:
    >>> import os, tempfile
    >>> from leadkit.storage.warehouse import Warehouse
    >>> wh = Warehouse(os.path.join(tempfile.mkdtemp(), "w.duckdb"))
    >>> _ = wh.migrate()
    >>> with wh.reading() as con:
    ...     sel = Selection.build(con, "status=passed", "leads")
    >>> sel.describe()
    "leads where status = 'passed'"
    >>> with wh.reading() as con:
    ...     Selection.build(con, "status=passed&sort=-createdAt", "leads")
    Traceback (most recent call last):
    ...
    leadkit.errors.LeadkitError: --where takes filters only; 'sort' is not allowed (a push reads every matching lead in key order; use --limit to cap the number)
"""  # noqa: E501

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import duckdb

from leadkit.errors import LeadkitError, WarehouseError
from leadkit.push.base import Lead
from leadkit.query import compile_query, to_sql
from leadkit.query.to_sql import quote_identifier
from leadkit.storage.queries import HIDDEN_COLUMNS, MAX_SIZE, TableDirectory, table_info
from leadkit.systems import get_system, known_kinds

__all__ = ["CONTROL_PARAMS", "Selection"]

#: Query parameters a push's ``--where`` may not use.
CONTROL_PARAMS = ("sort", "page", "size", "fields")


def _lead_tables() -> dict[str, tuple[str, str, str]]:
    """Lead table → (system, source column, lead id column)."""
    out = {"leads": ("", "source", "lead_id")}
    for kind in known_kinds("source"):
        try:
            system = get_system(kind)
        except ImportError:  # pragma: no cover - a broken optional system
            continue
        for spec in system.tables:
            out[spec.name] = (kind, spec.key[0], spec.key[-1])
    return out


@dataclass(frozen=True)
class Selection:
    """The leads a push reads: a table, filters and the identity columns.

    Attributes:
        table: the table or view (as the warehouse spells it).
        where: the filters as given.
        described: the filters in plain English.
        sql_where: the filters as SQL with ``?`` placeholders.
        params: their values.
        system: the system of a system table ("" for the ``leads`` view).
        keys: the columns of the key order (identity columns).
        select: the SELECT list (hidden ``_raw``/``_hash`` left out).
    """

    table: str
    where: str
    described: str
    sql_where: str
    params: tuple[Any, ...]
    system: str
    keys: tuple[str, ...]
    select: str

    @classmethod
    def build(cls, con: duckdb.DuckDBPyConnection, where: str, table: str) -> Selection:
        """Check ``where`` against ``table`` and prepare the SQL.

        Raises:
            LeadkitError: a control parameter in ``where``, or not a lead table.
            QueryError: invalid filters (every problem at once).
        """
        for name, _ in parse_qsl(where, keep_blank_values=True):
            base = name.removesuffix("[]")
            if base in CONTROL_PARAMS:
                raise LeadkitError(
                    f"--where takes filters only; {base!r} is not allowed (a push reads every "
                    "matching lead in key order; use --limit to cap the number)"
                )
        info = table_info(con, table, directory=TableDirectory())
        tables = _lead_tables()
        if info.name not in tables:
            allowed = ", ".join(sorted(t for t in tables if t in _existing(con)))
            raise LeadkitError(
                f"table {info.name!r} is not a lead table; push from one of: {allowed}"
            )
        system, source_col, id_col = tables[info.name]
        bound = compile_query(where, info.catalog, default_size=MAX_SIZE, max_size=MAX_SIZE)
        parts = to_sql(bound)
        keys = ("system", source_col, id_col) if info.name == "leads" else (source_col, id_col)
        hidden = [c for c in HIDDEN_COLUMNS if c in info.columns]
        select = "*"
        if hidden:
            select = f"* EXCLUDE ({', '.join(quote_identifier(c) for c in hidden)})"
        described = bound.describe() if bound.conditions else "every lead"
        return cls(
            table=info.name,
            where=where,
            described=described,
            sql_where=parts.where,
            params=tuple(parts.params),
            system=system,
            keys=keys,
            select=select,
        )

    def describe(self) -> str:
        """The selection in plain English."""
        return f"{self.table} where {self.described}"

    def count(self, con: duckdb.DuckDBPyConnection) -> int:
        """How many leads match."""
        try:
            rows = con.execute(
                f"SELECT count(*) FROM {quote_identifier(self.table)} WHERE {self.sql_where}",
                list(self.params),
            ).fetchall()
        except duckdb.Error as exc:
            raise WarehouseError(f"counting the leads to push failed: {exc}") from exc
        return int(rows[0][0])

    def page(
        self, con: duckdb.DuckDBPyConnection, after: Sequence[Any] | None, size: int
    ) -> tuple[list[Lead], tuple[Any, ...] | None]:
        """The next ``size`` leads after the key ``after`` (None: from the start).

        Returns:
            The leads, and the key of the last one (pass it as ``after`` next time; None
            when the page is empty).
        """
        quoted = [quote_identifier(k) for k in self.keys]
        sql = f"SELECT {self.select} FROM {quote_identifier(self.table)} WHERE ({self.sql_where})"
        params: list[Any] = list(self.params)
        if after is not None:
            ors = []
            for i, column in enumerate(quoted):
                ands = [f"{quoted[j]} = ?" for j in range(i)] + [f"{column} > ?"]
                ors.append("(" + " AND ".join(ands) + ")")
                params += [*after[:i], after[i]]
            sql += " AND (" + " OR ".join(ors) + ")"
        sql += f" ORDER BY {', '.join(quoted)} LIMIT ?"
        params.append(size)
        try:
            frame = con.sql(sql, params=params).pl()
        except duckdb.Error as exc:
            raise WarehouseError(f"reading the leads to push failed: {exc}") from exc
        leads = []
        last: tuple[Any, ...] | None = None
        for row in frame.iter_rows(named=True):
            last = tuple(row[k] for k in self.keys)
            system = self.system or str(row["system"])
            source_col, id_col = self.keys[-2], self.keys[-1]
            leads.append(Lead(system, str(row[source_col]), str(row[id_col]), row))
        if self.system and leads:
            leads = self._with_canonical(con, leads)
        return leads, last

    def _with_canonical(self, con: duckdb.DuckDBPyConnection, leads: list[Lead]) -> list[Lead]:
        """Rows of a system table, completed with the ``leads`` view's canonical columns.

        A system table keeps the API's own shape (OviPro's e-mail is
        ``lead.customer.email_address``, carehome's name is ``enquirer_first_name``…), while
        destinations map the canonical ``email``, ``phone``, ``first_name``… So each row gets
        the canonical columns it lacks; its own columns win where the names are the same.
        """
        try:
            frame = con.sql(
                "SELECT * FROM leads WHERE system = ? AND source IN (SELECT unnest(?)) "
                "AND lead_id IN (SELECT unnest(?))",
                params=[
                    self.system,
                    sorted({lead.source for lead in leads}),
                    [lead.lead_id for lead in leads],
                ],
            ).pl()
        except duckdb.Error:  # no canonical view (yet): the system table's own columns
            return leads
        canonical = {
            (str(row["source"]), str(row["lead_id"])): row for row in frame.iter_rows(named=True)
        }
        out = []
        for lead in leads:
            extra = canonical.get((lead.source, lead.lead_id))
            if extra is None:
                out.append(lead)
                continue
            row = dict(lead.row)
            for name, value in extra.items():
                row.setdefault(name, value)
            out.append(Lead(lead.system, lead.source, lead.lead_id, row))
        return out


def _existing(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
    ).fetchall()
    return {str(r[0]) for r in rows}
