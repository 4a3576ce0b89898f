"""Several linqd nodes on one PostgreSQL: who is alive, who runs what."""
