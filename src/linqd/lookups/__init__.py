"""Devo's Lookups API: lookup tables made from CSV uploads and from queries (once, periodic,
sliding window), their jobs and their statuses. The HTTP layer is ``api/lookups.py``."""
