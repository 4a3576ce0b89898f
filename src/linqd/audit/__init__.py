"""linqd's own activity as tables: web activity, credential checks and collector counters."""
