"""Alert definitions, the alert engine and triggered alerts."""
