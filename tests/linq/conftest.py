"""Shared fixtures of the LINQ tests: every example query of the spec (``spec/linq.md``) and a
fixed schema lookup (the built-in tables plus raw tables)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from linqd.store import catalog
from linqd.store.catalog import TableSchema

# Every query of spec/linq.md. Fragments (`... group by x`, `select count() as n where n > 200`)
# are completed with a `from` clause; `pragma ...` placeholders get real pragmas.
SPEC_EXAMPLES: tuple[str, ...] = (
    # §1 official example
    "from demo.ecommerce.data\n"
    "where statusCode = 404\n"
    "group every 10m by method, clientIpAddress\n"
    "every 10m\n"
    "select count() as myCount",
    # §2.2
    "from my.app.web.activityAll select * limit 10",
    "from demo.ecommerce.data select * limit 1",
    'from T where fieldname1 = "value1" select *',
    "from T group by name, datanode order by name",
    "from T order by eventdate desc limit 20",
    # §2.4
    "from T group by x select count() as n where n > 200",
    "from T group by fieldname3 select min(fieldname2) as agg where agg > 5 select *",
    'from cloud.aws.cloudtrail where eventSource="signin.amazonaws.com" where '
    'eventName="ConsoleLogin" select str(jqeval(jqcompile(".ConsoleLogin"), responseElements)) '
    'as loginResponse select str(jqeval(jqcompile(".MFAUsed"), additionalEventData)) as mfaUsed '
    "group every 1m by userName,userIdentity_principalId,userIdentity_type,mfaUsed,loginResponse "
    'where userIdentity_type="Root" where loginResponse="Success" select count() as count',
    "from T group by dstIp group select count() as distinctDestinations",
    "from test.keep.types select eventdate, ip4",
    # §3
    "from `web.iis.access-w3c-all`",
    "from my.app.`development@talion`.alertflow.x",
    "from T select timeTaken > 200 as `timeTaken>200`",
    'from T where url ~ re("\\\\.(zip|js)$")',
    "from T where url ~ re('\\.(zip)$')",
    'from T where EventID = "4624"',
    'from T where toktains(f, "x", true, true)',
    "from T select databaseinstance(null) as d",
    "from T where isnull(x) select nvl(x, v) as y",
    "from T where eventdate > now() - 1h",
    "from T where eventdate > today() - 5d",
    "from T select day() as d, hour() as h, minute() as m, second() as s",
    "from T select 15s as a, 5m as b, 10m as c, 1h as d, 3h as e, 1d as f, 5d as g",
    "from T group every 15h45m50s",
    'from T where "2024-09-10 07:21:35" < eventdate < "2024-09-12 12:21:35"',
    'from T where timestamp("2023-11-06 07:30:00") <= eventdate < timestamp("2023-11-06 13:30:00")',
    "from T where now()-1d < eventdate < now()",
    "from T where clientIpAddress = 203.0.113.21",
    "from T where srcIp <- 10.0.0.0/8",
    "from T where srcIp in {10.0.0.1, 10.0.0.2}",
    'from T select {1, 2, 3} as s, {"a": 1, "b": 2} as m, ["item1","item2"] as a, '
    '(1.33, "text", true) as t',
    # §4
    'from T where eq(a, b), ne(a, b), lt(a, b), le(a, b), `in`(a, {"x"})',
    "from T where a != b, a /= b, a < b, a <= b, a > b, a >= b",
    "from T where a and b or not c",
    'from T where eqic(a, "B")',
    'from T where a -> "s", has(a, "s1", "s2"), a ->> "s", weakhas(s, "x")',
    "from T where (from T2 where x = 1 select referer) -> url",
    'from T where toktains(f,"v",true,true), weaktoktains(raw, "v", true, true)',
    "from T where `in`(v1, v2, container), x in {a, b}, v <- container",
    'from T where weakin(v, s), s ~ re(".."), matches(f, nameglob("value1*"))',
    "from T where startswith(s, p), endswith(s, p), isnotnull(x), isempty(x)",
    "from T select x ?: d as y",
    "from T select a + b as s, a - b as d, a * b as p, a / b as q, a \\ b as i, a % b as r, "
    "a %% b as m",
    "from T select a & b as x, a | b as y, a ^ b as z, ~a as n, a << 2 as l, a >> 2 as r, "
    "a >>> 2 as u",
    'from T select jsonparse(message)["CreationTime"] as ct, arr[0] as first',
    # §5
    "from T group every 10m by a, b",
    "from T group every - by subquery_link, field",
    "from T where ParentProcessId in (from edr.process group every - by RawProcessId "
    "select RawProcessId as ParentProcessId)",
    "from T group every 5m",
    "from T group select count() as n",
    "from T group select count() as count",
    "from T group every 30m by a every 3h",
    "from T group every 30m by a every -",
    "from T group every 30m by a every 0",
    "from T1 group by x every 10m where x in (from T2)",
    # §6 (Devo's own rewrite)
    "from siem.logtrust.web.activity\n"
    "  where (le(timestamp(1612958959000), eventdate) and\n"
    "         lt(eventdate, timestamp(1612959859000)))\n"
    "  where eq(client, 'self')\n"
    "  select levelo\n"
    '  pragma comment.free:"x"',
    # §7
    "from siem.logtrust.web.activity\n"
    "where username in (\n"
    "    from siem.logtrust.web.navigation\n"
    '    where "2024-09-10 07:21:35" < eventdate < "2024-09-12 12:21:35"\n'
    "    group every - by userEmail)\n"
    "group every 10m by username\n"
    "select count()",
    "from T select (srcPort, serverPort) as t where t in (from T2 group by srcPort, serverPort)",
    "from T where has((from T2 select referer), url)",
    "from T select (from T2 group by userEmail, level)[username] as level",
    "from T1\n  where x in (\n    from T2\n      where y in (\n        from T3\n      )\n  )",
    "from T1\n  where x in (\n    from T2\n    where 100 <= eventdate < 200\n  )",
    "from T1\n  where x in (\n    from T2\n    group every 10m\n  )",
    "from T1 where x in (from T2)",
    # §8
    'from T pragma comment.id:"python-sdk-app" pragma comment.user:"python-sdk-user" '
    'pragma comment.free:"my comment"',
    "from T pragma preaggr.transparent.allowed: true pragma subquery.timespan.inherit.when: "
    '"absent" pragma subquery.timespan.inherit.action: "replace" pragma '
    'subquery.timespan.trim.above: true pragma alg.concat.null: "null" pragma '
    'quota.cpu.priority.problem: 2 pragma proc.vault.name: "low" pragma tz: tz("UTC")',
    "from T // a comment\nwhere x = 1 // another one\n",
    # §9
    "from T where simplify(float8(rand())) < p",
    'from T select str(jqeval(jqcompile(".OperationName"), jsonparse(message))) as operationName',
    'from T select lu("SecOpsAssetRole", "class", entity_sourceIP) as role',
    'from all.data where anymatches(tables, nameglob("siem.**"))',
    "from all.data where toktains(message, '<obs>')",
    'from T select subs(s, re("a(b)"), template("\\\\1")) as x',
    "from T select formatdate(ts, \"YYYY-MM-DD HH:mm\") as d, map(arr, '_ + 1') as m",
    "from T select filter(arr, '_ > 1') as f, split(s, \",\", 1) as p",
    # §12
    "from demo.ecommerce.data select eventdate,protocol,statusCode,method",
    "from demo.ecommerce.data select *",
    "from siem.logtrust.web.activityAll group every 5m by domain, username every 5m",
    "from siem.logtrust.web.activity select *",
    "from siem.logtrust.web.navigation select eventdate, userid, domain where now() - 1h < "
    "eventdate limit 10",
    "from siem.logtrust.web.activity group every 1m by username, url every 1m select count() as "
    "count",
    'from siem.logtrust.web.activity where url = "https://us.devo.com/alerts/view.json"',
    'from siem.logtrust.web.activity where username = "user@devo.com"',
    'from siem.logtrust.web.activity where eq(url, "https://us.devo.com/home"), eq(type, '
    '"request") where username in (from siem.logtrust.web.activity where eq(url, '
    '"https://us.devo.com/m2search"), eq(type, "request") select username) select username, '
    "userid, sessionid, locale, userAgent",
    "from siem.logtrust.web.activity group every -",
    "from siem.logtrust.web.activity group every 5m by domain select count() as count",
    'from cloud.aws.cloudtrail where eq(eventName,"DeleteRule") or '
    'eq(eventName,"DeleteRuleGroup") group every 1m select count() as count',
    "from firewall.all.traffic where ispublic(dstIp), ge(bytes, 50000000) group every 30m by "
    "srcIp, dstIp every 6h",
    "from siem.logtrust.alert.info select *",
    "from siem.logtrust.alert.info where priority > 6.0 select eventdate",
    "from siem.logtrust.alert.info group by context select count() as n",
    "from test.keep.types select ip4 limit 1",
    "from test.keep.types select eventdate, ip4 limit 1",
    'from siem.logtrust.web.activity where method = "OTHER" select method limit 1',
    "from siem.logtrust.web.connection select action",
)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "spec_example" in metafunc.fixturenames:
        metafunc.parametrize(
            "spec_example", SPEC_EXAMPLES, ids=[f"spec{i:03d}" for i in range(len(SPEC_EXAMPLES))]
        )


RAW_TABLES = ("my.app.test", "my.app.web.logs", "my.big.table")


def lookup(name: str) -> TableSchema | None:
    """The built-in tables plus a few raw tables (hostname, message)."""
    return catalog.builtin(name) or (catalog.raw_schema(name) if name in RAW_TABLES else None)


@pytest.fixture
def schemas() -> Callable[[str], TableSchema | None]:
    return lookup
