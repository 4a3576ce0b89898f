"""The HTTP APIs of linqd."""
