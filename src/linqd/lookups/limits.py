"""The bounds of the Lookups API (docs/devo-compatibility.md, "Lookups API", point 37). Devo
publishes none; these let a million-row CSV through with room to spare while keeping any one
request's cost bounded.

Going past a size limit of a request body answers 413; every other limit answers 400 with a
message that names the limit (docs/devo-compatibility.md, "Lookups API")."""

from __future__ import annotations

from dataclasses import dataclass

MIB = 1024 * 1024


@dataclass(frozen=True)
class LookupLimits:
    # A multipart upload, whole (the CSV is spooled to a temporary file as it arrives).
    max_upload_bytes: int = 256 * MIB
    # The JSON body of every other call, the JSON-body CSV variant (#6, #12) included.
    max_json_bytes: int = 16 * MIB
    # The ``deploy-config`` part of a multipart upload (held in memory).
    max_config_bytes: int = 64 * 1024
    max_rows: int = 5_000_000
    max_columns: int = 256
    max_name_length: int = 128
    max_column_name_length: int = 128
    max_lookups_per_domain: int = 1_000
    max_query_chars: int = 64 * 1024
    # Periodic and sliding-window schedules.
    min_refresh_ms: int = 60_000
    max_refresh_ms: int = 366 * 86_400_000
    max_window_ms: int = 400 * 86_400_000


DEFAULT_LIMITS = LookupLimits()
