"""The web console (``/ui``): search, live tail, alerts with a backtest preview, triage and jobs."""
