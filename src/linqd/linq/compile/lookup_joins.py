"""Lookups read by ``lu()`` joined to a stage's rows.

A correlated scalar subquery per ``lu()`` call makes DuckDB aggregate the lookup per distinct
key of the outer rows: 30 times slower than a join over a million-row lookup, and refused
inside ``group by``. A lookup's key is unique (every write keeps the last row of a key), so a
LEFT JOIN on it gives each row at most one match and the same value the subquery gives:
null when the key is null or absent.

The stage's source becomes ``(SELECT s.*, l1.v AS "_lu1" FROM <source> AS s LEFT JOIN
(<lookup>) AS l1 ON l1.k = <key over s>) AS s``: the same alias outside, so every expression
already compiled against the source still reads it, and the engine pushes the stage's filters
through the projection into the scan and the join.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlglot import exp


@dataclass
class LookupJoins:
    """The lookups joined to one stage's rows: one join per (lookup, key), however often the
    stage calls it."""

    alias: str  # the stage source's alias, kept by the joined source
    # Past the grouping, only a lookup already joined for a grouping key may be read (its
    # column is grouped); any other would be a column that is neither grouped nor aggregated.
    open: bool = True
    _joins: list[tuple[exp.Subquery, exp.Expression]] = field(default_factory=list)
    _values: list[exp.Expr] = field(default_factory=list)
    _columns: dict[tuple[object, str], str] = field(default_factory=dict)

    def column(
        self,
        lookup: exp.Select,
        identity: object,
        names: tuple[str, str],
        key: exp.Expression,
        join_alias: str,
    ) -> exp.Expression | None:
        """The column of the stage's rows holding ``lookup``'s value column (``names[1]``) at
        ``key`` (an expression over the stage's source, qualified by its alias); ``identity``
        names the lookup and its value column. None when it cannot be joined (any more)."""
        name = self._columns.get((identity, key.sql()))
        if name is None:
            if not self.open:
                return None
            name = f"lu#{len(self._columns) + 1}"  # no LINQ column can be named so
            self._columns[identity, key.sql()] = name
            joined = exp.Subquery(
                this=lookup, alias=exp.TableAlias(this=exp.to_identifier(join_alias))
            )
            on = exp.EQ(this=exp.column(names[0], table=join_alias, quoted=True), expression=key)
            self._joins.append((joined, on))
            value = exp.column(names[1], table=join_alias, quoted=True)
            self._values.append(exp.alias_(value, name, quoted=True))
        return exp.column(name, table=self.alias, quoted=True)

    def source(self, source: exp.Expression) -> exp.Expression:
        """``source`` (aliased ``self.alias``) with the joined lookups' values as columns."""
        if not self._joins:
            return source
        star = exp.Column(this=exp.Star(), table=exp.to_identifier(self.alias))
        select = exp.Select().select(star, *self._values, copy=False).from_(source, copy=False)
        for joined, on in self._joins:
            select = select.join(joined, on=on, join_type="left", copy=False)
        return exp.Subquery(this=select, alias=exp.TableAlias(this=exp.to_identifier(self.alias)))
