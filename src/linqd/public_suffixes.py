"""The Public Suffix List as reference data (``reference.py``): the list that the kept package
``publicsuffixlist`` ships, as a table of suffix → rule that the domain functions
(``linq/functions/domains.py``) join hosts with.

Both sections of the list count: the ICANN suffixes (``co.uk``) and the PRIVATE ones that
companies declare for their customers' names (``blogspot.com``, ``github.io``), as in
``publicsuffixlist``'s default, Guava's ``publicSuffix()`` and browsers: two customers of such a
service are two sites, which is what a security search over ``rootdomain`` wants to tell apart.

One row per suffix that some rule names, with the rule that applies when that suffix is the
longest one of a host found in the table (the list's precedence: an exception rule ``!www.ck``
before a wildcard ``*.ck`` before a plain rule ``ck``). A rule in Unicode (``公司.cn``) is kept
in its punycode form (``xn--55qx5d.cn``) too, as the package does.
"""

from __future__ import annotations

from enum import IntEnum

import pyarrow as pa
from publicsuffixlist import PSLFILE, encode_idn

NAME = "public_suffixes"
DESCRIPTION = "the Public Suffix List"

# The longest suffix in the table has 6 labels (from the rule `*.` + 6 labels): a host's
# candidate suffixes are its last 1 to 6 labels (the list is pinned with the package; a test
# checks the figure).
MAX_LABELS = 6


class Rule(IntEnum):
    """What the longest suffix of a host found in the table makes its public suffix: that
    suffix (EXACT), one label more when the host has one (WILDCARD: ``*.ck`` names every
    ``x.ck``; ``ck`` itself is public too), or one label less (EXCEPTION: ``!www.ck`` makes
    ``www.ck`` registrable). The values order the rules by precedence."""

    EXACT = 1
    WILDCARD = 2
    EXCEPTION = 3


SCHEMA = pa.schema(
    [
        pa.field("suffix", pa.string(), nullable=False),
        pa.field("labels", pa.uint8(), nullable=False),
        pa.field("rule", pa.uint8(), nullable=False),
    ]
)


def rules() -> dict[str, Rule]:
    """Each suffix the list names, with its rule of highest precedence."""
    found: dict[str, Rule] = {}
    with open(PSLFILE, encoding="utf-8") as lines:
        for line in lines:
            # As the package reads the list: the first word of a line, lower case.
            text = line.lower().split(" ")[0].rstrip()
            if not text or text.startswith("//"):
                continue
            if text.startswith("!"):
                suffix, rule = text[1:], Rule.EXCEPTION
            elif text.startswith("*."):
                suffix, rule = text[2:], Rule.WILDCARD
            else:
                suffix, rule = text, Rule.EXACT
            # An ASCII rule is its own punycode: encoding only the others makes the load (at
            # the first query that reads the list) several times faster.
            forms = {suffix} if suffix.isascii() else {suffix, encode_idn(suffix)}
            for form in forms:
                found[form] = max(found.get(form, rule), rule)
    return found


def load() -> pa.Table:
    """The reference table: suffix, its number of labels, and its rule."""
    table = sorted(rules().items())
    return pa.table(
        {
            "suffix": [suffix for suffix, _ in table],
            "labels": [suffix.count(".") + 1 for suffix, _ in table],
            "rule": [int(rule) for _, rule in table],
        },
        schema=SCHEMA,
    )
