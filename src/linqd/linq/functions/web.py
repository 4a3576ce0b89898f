"""Protocol lookups (IANA IP protocol numbers, HTTP status codes) and geometry on coordinates
(great-circle distance, geohash).

The lookups are CASE expressions written from the Python tables below, so both engines read the
same names without any external data; a number missing from a table gives null.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlglot import exp

from ..types import LType
from .base import Arg, Context, FunctionDef, Translator, both, call, cast, lit, paren, sig
from .helpers import all_of, case, const_int

# IANA "Assigned Internet Protocol Numbers", keyword column. Numbers without a keyword (61, 63,
# 68, 99, 114: "any host internal protocol" and the like), unassigned (146-252) and reserved ones
# give null.
IP_PROTOCOLS: Mapping[int, str] = {
    0: "HOPOPT", 1: "ICMP", 2: "IGMP", 3: "GGP", 4: "IPv4", 5: "ST", 6: "TCP", 7: "CBT",
    8: "EGP", 9: "IGP", 10: "BBN-RCC-MON", 11: "NVP-II", 12: "PUP", 13: "ARGUS", 14: "EMCON",
    15: "XNET", 16: "CHAOS", 17: "UDP", 18: "MUX", 19: "DCN-MEAS", 20: "HMP", 21: "PRM",
    22: "XNS-IDP", 23: "TRUNK-1", 24: "TRUNK-2", 25: "LEAF-1", 26: "LEAF-2", 27: "RDP",
    28: "IRTP", 29: "ISO-TP4", 30: "NETBLT", 31: "MFE-NSP", 32: "MERIT-INP", 33: "DCCP",
    34: "3PC", 35: "IDPR", 36: "XTP", 37: "DDP", 38: "IDPR-CMTP", 39: "TP++", 40: "IL",
    41: "IPv6", 42: "SDRP", 43: "IPv6-Route", 44: "IPv6-Frag", 45: "IDRP", 46: "RSVP",
    47: "GRE", 48: "DSR", 49: "BNA", 50: "ESP", 51: "AH", 52: "I-NLSP", 53: "SWIPE",
    54: "NARP", 55: "Min-IPv4", 56: "TLSP", 57: "SKIP", 58: "IPv6-ICMP", 59: "IPv6-NoNxt",
    60: "IPv6-Opts", 62: "CFTP", 64: "SAT-EXPAK", 65: "KRYPTOLAN", 66: "RVD", 67: "IPPC",
    69: "SAT-MON", 70: "VISA", 71: "IPCV", 72: "CPNX", 73: "CPHB", 74: "WSN", 75: "PVP",
    76: "BR-SAT-MON", 77: "SUN-ND", 78: "WB-MON", 79: "WB-EXPAK", 80: "ISO-IP", 81: "VMTP",
    82: "SECURE-VMTP", 83: "VINES", 84: "TTP", 85: "NSFNET-IGP", 86: "DGP", 87: "TCF",
    88: "EIGRP", 89: "OSPFIGP", 90: "Sprite-RPC", 91: "LARP", 92: "MTP", 93: "AX.25",
    94: "IPIP", 95: "MICP", 96: "SCC-SP", 97: "ETHERIP", 98: "ENCAP", 100: "GMTP",
    101: "IFMP", 102: "PNNI", 103: "PIM", 104: "ARIS", 105: "SCPS", 106: "QNX", 107: "A/N",
    108: "IPComp", 109: "SNP", 110: "Compaq-Peer", 111: "IPX-in-IP", 112: "VRRP", 113: "PGM",
    115: "L2TP", 116: "DDX", 117: "IATP", 118: "STP", 119: "SRP", 120: "UTI", 121: "SMP",
    122: "SM", 123: "PTP", 124: "ISIS", 125: "FIRE", 126: "CRTP", 127: "CRUDP",
    128: "SSCOPMCE", 129: "IPLT", 130: "SPS", 131: "PIPE", 132: "SCTP", 133: "FC",
    134: "RSVP-E2E-IGNORE", 135: "Mobility Header", 136: "UDPLite", 137: "MPLS-in-IP",
    138: "manet", 139: "HIP", 140: "Shim6", 141: "WESP", 142: "ROHC", 143: "Ethernet",
    144: "AGGFRAG", 145: "NSH",
}  # fmt: skip

# The IANA HTTP status code registry's reason phrases (RFC 9110 and the WebDAV, hints and
# extension RFCs), plus 418, which RFC 9110 reserves but servers still send.
HTTP_STATUSES: Mapping[int, str] = {
    100: "Continue", 101: "Switching Protocols", 102: "Processing", 103: "Early Hints",
    200: "OK", 201: "Created", 202: "Accepted", 203: "Non-Authoritative Information",
    204: "No Content", 205: "Reset Content", 206: "Partial Content", 207: "Multi-Status",
    208: "Already Reported", 226: "IM Used",
    300: "Multiple Choices", 301: "Moved Permanently", 302: "Found", 303: "See Other",
    304: "Not Modified", 305: "Use Proxy", 307: "Temporary Redirect", 308: "Permanent Redirect",
    400: "Bad Request", 401: "Unauthorized", 402: "Payment Required", 403: "Forbidden",
    404: "Not Found", 405: "Method Not Allowed", 406: "Not Acceptable",
    407: "Proxy Authentication Required", 408: "Request Timeout", 409: "Conflict", 410: "Gone",
    411: "Length Required", 412: "Precondition Failed", 413: "Content Too Large",
    414: "URI Too Long", 415: "Unsupported Media Type", 416: "Range Not Satisfiable",
    417: "Expectation Failed", 418: "I'm a teapot", 421: "Misdirected Request",
    422: "Unprocessable Content", 423: "Locked", 424: "Failed Dependency", 425: "Too Early",
    426: "Upgrade Required", 428: "Precondition Required", 429: "Too Many Requests",
    431: "Request Header Fields Too Large", 451: "Unavailable For Legal Reasons",
    500: "Internal Server Error", 501: "Not Implemented", 502: "Bad Gateway",
    503: "Service Unavailable", 504: "Gateway Timeout", 505: "HTTP Version Not Supported",
    506: "Variant Also Negotiates", 507: "Insufficient Storage", 508: "Loop Detected",
    510: "Not Extended", 511: "Network Authentication Required",
}  # fmt: skip

# RFC 9110 §15: the first digit of a status code is its class.
HTTP_CLASSES: Mapping[int, str] = {
    1: "Informational",
    2: "Successful",
    3: "Redirection",
    4: "Client Error",
    5: "Server Error",
}


def lookup(value: exp.Expression, table: Mapping[int, str]) -> exp.Expression:
    """``CASE value WHEN k THEN name ... END``: null for a key the table lacks (and for null)."""
    ifs = [exp.If(this=lit(key), true=lit(name)) for key, name in sorted(table.items())]
    return exp.Case(this=value, ifs=ifs)


def _table(table: Mapping[int, str]) -> Translator:
    def translate(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
        return lookup(args[0].sql, table)

    return translate


def _httpstatustype(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    code = args[0].sql
    # Only three-digit codes 100-599 have a class; 600 or 42 have none.
    valid = all_of(
        [exp.GTE(this=code, expression=lit(100)), exp.LTE(this=code, expression=lit(599))]
    )
    first_digit = cast(call("floor", exp.Div(this=code, expression=lit(100))), "INTEGER")
    return case((valid, lookup(first_digit, HTTP_CLASSES)))


# -- geometry --------------------------------------------------------------------------------------

EARTH_RADIUS_M = 6_371_008.8  # the IUGG mean radius, R1
MILLIMETRES = 1e3  # per metre: the resolution of distance()
GEOHASH_ALPHABET = "0123456789bcdefghjkmnpqrstuvwxyz"
GEOHASH_DEFAULT = 12  # 60 bits: the most a double's 53-bit coordinates can fill


def _double(arg: Arg) -> exp.Expression:
    # Float literals are DECIMALs on DuckDB, integer columns integers: the formulas want DOUBLE.
    return cast(arg.sql, "DOUBLE")


def _at_most(value: exp.Expression, bound: float) -> exp.Expression:
    """``value``, or ``bound`` when above it; null stays null (least() skips nulls on DuckDB)."""
    return case((exp.GT(this=value, expression=lit(bound)), lit(bound)), default=value)


def _in_range(value: exp.Expression, low: float, high: float) -> exp.Expression:
    return all_of(
        [exp.GTE(this=value, expression=lit(low)), exp.LTE(this=value, expression=lit(high))]
    )


def _distance(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    """Haversine on a sphere: well conditioned for short distances, where the spherical law of
    cosines loses them to rounding."""
    lat1, lon1, lat2, lon2 = (call("radians", _double(a)) for a in args)

    def half_sin_squared(a: exp.Expression, b: exp.Expression) -> exp.Expression:
        half = exp.Div(this=paren(exp.Sub(this=a, expression=b)), expression=lit(2))
        sine = call("sin", half)
        # A product, not pow(): ClickHouse's pow() can differ from DuckDB's in the last bit.
        return exp.Mul(this=sine, expression=sine.copy())

    h = exp.Add(
        this=half_sin_squared(lat2, lat1),
        expression=exp.Mul(
            this=exp.Mul(this=call("cos", lat1), expression=call("cos", lat2)),
            expression=half_sin_squared(lon2, lon1),
        ),
    )
    # Rounding can push h a hair above 1 for antipodal points: asin would give NaN.
    angle = call("asin", call("sqrt", _at_most(h, 1.0)))
    metres = exp.Mul(this=lit(2 * EARTH_RADIUS_M), expression=angle)
    # ClickHouse's asin(), sin() and cos() differ from DuckDB's in the last bits (nanometres
    # here). Rounded to the millimetre with floor, products and sums (exact alike on both), the
    # engines agree but for a value within nanometres of a half millimetre: none in 100,000
    # random pairs.
    scaled = exp.Add(this=exp.Mul(this=metres, expression=lit(MILLIMETRES)), expression=lit(0.5))
    return paren(exp.Div(this=call("floor", scaled), expression=lit(MILLIMETRES)))


def _bit(value: exp.Expression, position: int) -> exp.Expression:
    """Bit ``position`` (0: lowest) of a whole non-negative double below 2^53, as 0 or 1:
    floor(v / 2^p) % 2. Dividing by a power of two and fmod are exact, so this is exact and needs
    no integer type or bit operator that the engines spell differently."""
    high = call("floor", exp.Div(this=value, expression=lit(float(2**position))))
    return paren(exp.Mod(this=high, expression=lit(2)))


def _cell(value: exp.Expression, low: float, span: float, bits: int) -> exp.Expression:
    """The index of the cell holding ``value`` when [low, low + span] is cut into 2^bits equal
    cells: what the geohash bisections give; the top edge falls in the last cell."""
    scaled = exp.Mul(
        this=paren(
            exp.Div(this=paren(exp.Sub(this=value, expression=lit(low))), expression=lit(span))
        ),
        expression=lit(float(2**bits)),
    )
    return _at_most(call("floor", scaled), float(2**bits - 1))


def _geohash(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    precision = (
        const_int(ctx, args[2], "geohash", "precision") if len(args) > 2 else GEOHASH_DEFAULT
    )
    if not 1 <= precision <= GEOHASH_DEFAULT:
        raise ctx.error(f"The precision of `geohash' must be from 1 to {GEOHASH_DEFAULT}")
    lat, lon = _double(args[0]), _double(args[1])
    total = 5 * precision
    # The hash interleaves longitude and latitude bits, longitude first: the longitude gets the
    # even positions (the extra bit when the total is odd).
    lon_bits, lat_bits = (total + 1) // 2, total // 2
    cells = (_cell(lon, -180.0, 360.0, lon_bits), _cell(lat, -90.0, 180.0, lat_bits))
    widths = (lon_bits, lat_bits)
    chars: list[exp.Expression] = []
    for index in range(precision):
        digit: exp.Expression = lit(0)
        for offset in range(5):
            k = 5 * index + offset  # position in the hash, from its most significant bit
            which, rank = k % 2, k // 2  # longitude or latitude, and its rank from the top
            bit = _bit(cells[which], widths[which] - 1 - rank)
            term = exp.Mul(this=bit, expression=lit(2 ** (4 - offset)))
            digit = term if offset == 0 else exp.Add(this=digit, expression=term)
        position = exp.Add(this=cast(digit, "INTEGER"), expression=lit(1))
        chars.append(call("substring", lit(GEOHASH_ALPHABET), position, lit(1)))
    text = chars[0]
    for char in chars[1:]:
        text = exp.DPipe(this=text, expression=char)
    valid = all_of([_in_range(lat, -90.0, 90.0), _in_range(lon, -180.0, 180.0)])
    return case((valid, text))


FUNCTIONS: tuple[FunctionDef, ...] = (
    FunctionDef(("ipprotocol",), (sig("int -> str"),),
                "The IANA keyword of an IP protocol number (`6` is `TCP`, `17` `UDP`); null for "
                "numbers with none.", "network", both(_table(IP_PROTOCOLS))),
    FunctionDef(("httpstatusdescription",), (sig("int -> str"),),
                "The reason phrase of an HTTP status code (`404` is `Not Found`); null for codes "
                "not registered.", "network", both(_table(HTTP_STATUSES))),
    FunctionDef(("httpstatustype",), (sig("int -> str"),),
                "The class of an HTTP status code: `Informational`, `Successful`, `Redirection`, "
                "`Client Error` or `Server Error` (1xx to 5xx); null outside 100-599.", "network",
                both(_httpstatustype)),
    FunctionDef(("distance",), (sig("num, num, num, num -> float8"),),
                "Great-circle distance in metres between (`lat1`, `lon1`) and (`lat2`, `lon2`), "
                "in degrees: haversine on a sphere of radius 6371008.8 m, to the millimetre.",
                "network", both(_distance)),
    FunctionDef(("geohash",), (sig("num, num, int? -> str"),),
                "The geohash of (`lat`, `lon`) in degrees, `precision` characters long (1 to 12, "
                "a constant; default 12); null outside the valid ranges.", "network",
                both(_geohash)),
)  # fmt: skip
