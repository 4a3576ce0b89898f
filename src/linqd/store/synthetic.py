"""The rows of the demo data, computed by SQL on a private in-memory DuckDB connection (a
calculator, apart from any event store, whatever ``--store`` is): each column is a function of
the row number hashed with the seed, so any batch can be produced on its own, fully vectorised
and reproducible. ``demo.py`` plans the data and appends these rows through the store seam;
the DuckDB SQL lives here, in the store package, where engine code belongs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import duckdb
import pyarrow as pa

from .catalog import TableSchema
from .duckdb import duckdb_type, quote

ECOMMERCE = "demo.ecommerce.data"
ACTIVITY = "siem.logtrust.web.activity"
NAVIGATION = "siem.logtrust.web.navigation"

HOUR_MS = 3_600_000
SESSION_MS = 4 * HOUR_MS
_STATUSES = ((200, 910), (404, 20), (503, 20), (500, 20), (400, 15), (408, 15))


class SyntheticRows:
    """One generator of rows for one seed; ``close`` it after use."""

    def __init__(self, seed: int) -> None:
        self._db = duckdb.connect()
        self._db.execute(
            f"CREATE MACRO u(g, k) AS (hash(g, k, {int(seed):d}) >> 11)::DOUBLE "
            "/ 9007199254740992.0"
        )

    def batch(
        self,
        schema: TableSchema,
        segments: pa.Table,
        params: Mapping[str, Any],
        *,
        salt: int,
        lo: int,
        hi: int,
    ) -> pa.Table:
        """Rows ``lo`` to ``hi`` of ``schema``'s table (its columns and ``ts``, epoch ms),
        spread over ``segments`` (the timeline), with the catalogues in ``params``."""
        sql = _select(_QUERIES[schema.name], schema, salt)
        # DuckDB rejects named parameters that a query does not mention.
        used = {k: params[k] for k in set(re.findall(r"\$(\w+)", sql)) - {"lo", "hi"}}
        self._db.register("segs", segments)
        try:
            return self._db.sql(sql, params={**used, "lo": lo, "hi": hi}).to_arrow_table()
        finally:
            self._db.unregister("segs")

    def close(self) -> None:
        self._db.close()


def _select(body: tuple[str, dict[str, str]], schema: TableSchema, salt: int) -> str:
    """The full query: shared time base, the table's CTEs, then one cast per catalog column."""
    ctes, exprs = body
    casts = ", ".join(
        f"CAST({exprs[c.name]} AS {duckdb_type(c.type)}) AS {quote(c.name)}" for c in schema.columns
    )
    return f"""
        WITH picked AS (
            SELECT *, unnest(range(greatest(lo, $lo), least(hi, $hi))) AS i
            FROM segs WHERE hi > $lo AND lo < $hi
        ), base AS (
            SELECT i, i + {salt:d} AS g, bip, bst,
                t0 + least(CAST(floor((i - lo + u(i + {salt:d}, 0)) * tlen / (hi - lo))
                    AS BIGINT), tlen - 1) AS ts
            FROM picked
        ), {ctes}
        SELECT ts, {casts} FROM final ORDER BY i
    """


def _pick(list_name: str, u: str, skew: float = 1.0) -> str:
    """SQL for an element of a list parameter; ``skew`` > 1 favours the head of the list."""
    power = f"pow({u}, {skew})" if skew != 1.0 else u
    return f"${list_name}[1 + CAST(floor({power} * len(${list_name})) AS BIGINT)]"


def _lognormal(z: str, mu: float, sigma: float) -> str:
    return f"round(exp({mu} + {sigma} * {z}))"


def _weighted(u: str, choices: Sequence[tuple[int, int]]) -> str:
    total = sum(w for _, w in choices)
    acc = 0
    arms = []
    for value, weight in choices[:-1]:
        acc += weight
        arms.append(f"WHEN {u} < {acc / total} THEN {value}")
    return f"CASE {' '.join(arms)} ELSE {choices[-1][0]} END"


# Box-Muller pair: two independent standard normals per row for skewed sizes and durations.
_NORMALS = """sqrt(-2 * ln(1 - u(g, 3))) * cos(2 * pi() * u(g, 4)) AS z1,
                sqrt(-2 * ln(1 - u(g, 3))) * sin(2 * pi() * u(g, 4)) AS z2"""

_ECOMMERCE = (
    f"""shop AS (
            SELECT *, bst > 0 AND u(g, 1) < 0.85 AS hot,
                1 + CAST(floor(pow(u(g, 2), 2.0) * len($visitor_ip)) AS BIGINT) AS v, {_NORMALS}
            FROM base
        ), paged AS (
            SELECT *, CASE WHEN hot AND bst = 404 THEN {_pick("probes", "u(g, 5)")}
                WHEN hot THEN '/cart.do?action=purchase&itemId=EST-' || (1 + floor(27 * u(g, 11)))
                ELSE {_pick("uris", "u(g, 5)", 1.6)} END AS uri
            FROM shop
        ), final AS (
            SELECT *, CASE WHEN hot THEN bst
                WHEN uri LIKE '/oldlink%' AND u(g, 6) < 0.75 THEN 404
                ELSE {_weighted("u(g, 7)", _STATUSES)} END AS status
            FROM paged
        )""",
    {
        "clientIpAddress": "CASE WHEN hot THEN bip ELSE $visitor_ip[v] END",
        "timestamp": "strftime(make_timestamp(ts * 1000), '%d/%b/%Y:%H:%M:%S +0000')",
        # Cart changes are mostly form posts; everything else is mostly plain page loads.
        "method": """CASE WHEN (uri LIKE '/cart.do?action=%' AND uri NOT LIKE '%action=view%')
                = (u(g, 8) < 0.85) THEN 'POST' ELSE 'GET' END""",
        "uri": "uri",
        "protocol": "'HTTP 1.1'",
        "statusCode": "status",
        "bytesTransferred": f"""CASE WHEN status = 200 THEN {_lognormal("z1", 7.8, 0.9)}
                WHEN status IN (404, 400) THEN {_lognormal("z1", 6.2, 0.3)}
                ELSE {_lognormal("z1", 5.5, 0.5)} END""",
        "referralUri": f"CASE WHEN hot THEN '-' ELSE {_pick('referrals', 'u(g, 9)', 1.3)} END",
        "userAgent": "CASE WHEN hot THEN 'python-requests/2.31.0' ELSE $visitor_ua[v] END",
        "cookie": "$visitor_cookie[v]",
        "timeTaken": f"""CASE WHEN status = 408 THEN 30000 + CAST(u(g, 10) * 5000 AS BIGINT)
                WHEN status = 503 THEN {_lognormal("z2", 2.5, 0.6)}
                WHEN status = 500 THEN {_lognormal("z2", 6.0, 0.7)}
                ELSE {_lognormal("z2", 4.2, 0.8)} END""",
    },
)

# Sessions group a user's events over a few hours; activity and navigation share them.
_SESSION = f"md5(user_id || '/' || CAST(ts // {SESSION_MS} AS VARCHAR))"

_USER_COLUMNS = """$user_name[usr] AS user_name, $user_domain[usr] AS user_domain,
                $user_id[usr] AS user_id, $user_ip[usr] AS user_ip, $user_ua[usr] AS user_ua"""

_ACTIVITY = (
    f"""pairs AS (
            -- Rows come in request/response pairs that share user, page and correlation id.
            SELECT *, g // 2 AS p, g % 2 = 1 AS response,
                1 + CAST(floor(pow(u(g // 2, 1), 1.5) * len($user_name)) AS BIGINT) AS usr,
                1 + CAST(floor(pow(u(g // 2, 2), 1.4) * len($page_url)) AS BIGINT) AS page,
                {_weighted("u(g // 2, 5)", ((0, 930), (1, 40), (2, 30)))} AS outcome, {_NORMALS}
            FROM base
        ), final AS (
            SELECT *, {_USER_COLUMNS},
                CASE WHEN outcome = 2 THEN {_lognormal("z1", 6.5, 0.9)}
                    ELSE {_lognormal("z1", 4.8, 0.9)} END AS rtime
            FROM pairs
        )""",
    {
        "level": """CASE WHEN NOT response THEN 'INFO' WHEN outcome = 2 THEN 'ERROR'
                WHEN outcome = 1 OR rtime > 2000 THEN 'WARN' ELSE 'INFO' END""",
        "domain": "user_domain",
        "userid": "user_id",
        "username": "user_name",
        "sessionid": _SESSION,
        "correlationid": "md5(CAST(p AS VARCHAR))",
        "srcHost": "user_ip",
        "srcPort": "1024 + floor(64511 * u(p, 11))",
        "serverHost": _pick("servers", "u(p, 12)"),
        "serverPort": "CASE WHEN u(p, 13) < 0.9 THEN 443 ELSE 8443 END",
        "type": "CASE WHEN response THEN 'response' ELSE 'request' END",
        "method": "$page_method[page]",
        "url": "$page_url[page]",
        "headers": _pick("headers", "u(p, 14)"),
        "params": f"""CASE WHEN $page_method[page] = 'POST' THEN {_pick("post_params", "u(p, 15)")}
                ELSE {_pick("get_params", "u(p, 15)")} END""",
        "referer": _pick("page_url", "u(p, 16)", 2.0),
        "userAgent": "user_ua",
        "locale": "$user_locale[usr]",
        "contentLength": f"""CASE WHEN response OR $page_method[page] = 'GET' THEN 0
                ELSE {_lognormal("z2", 6.0, 0.7)} END""",
        "responseLength": f"""CASE WHEN NOT response THEN 0
                WHEN outcome > 0 THEN 120 + floor(200 * u(g, 18))
                ELSE {_lognormal("z2", 8.0, 1.1)} END""",
        "responseTime": "CASE WHEN response THEN rtime ELSE 0 END",
        "result": "CASE outcome WHEN 0 THEN 'OK' WHEN 1 THEN 'Not Found' ELSE 'Error' END",
        "resourceInfo": "$page_section[page]",
        "errorInfo": f"""CASE WHEN NOT response OR outcome = 0 THEN ''
                WHEN outcome = 1 THEN 'Resource not found'
                ELSE {_pick("errors", "u(p, 17)")} END""",
        "country": "$user_country[usr]",
        "region": "$user_region[usr]",
        "city": "$user_city[usr]",
        "isp": "$user_isp[usr]",
        "org": "$user_org[usr]",
    },
)

_NAVIGATION = (
    f"""picks AS (
            SELECT *, 1 + CAST(floor(pow(u(g, 1), 1.5) * len($user_name)) AS BIGINT) AS usr,
                1 + CAST(floor(pow(u(g, 2), 1.4) * len($page_url)) AS BIGINT) AS page
            FROM base
        ), final AS (SELECT *, {_USER_COLUMNS} FROM picks)""",
    {
        "level": "CASE WHEN u(g, 3) < 0.97 THEN 'INFO' ELSE 'WARN' END",
        "domain": "user_domain",
        "userid": "user_id",
        "userEmail": "user_name",
        "sessionid": _SESSION,
        "srcHost": "user_ip",
        "url": "$page_url[page]",
        "method": "$page_method[page]",
        "section": "$page_section[page]",
        "action": "$page_action[page]",
        "userAgent": "user_ua",
    },
)


_QUERIES = {ECOMMERCE: _ECOMMERCE, ACTIVITY: _ACTIVITY, NAVIGATION: _NAVIGATION}
