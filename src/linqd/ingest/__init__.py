"""Getting events in: syslog and HTTP collectors, decoding, lookups."""
