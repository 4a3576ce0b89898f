"""Column names every table has, whatever its schema (shared by the store and the compiler)."""

EVENTDATE = "eventdate"  # the event time, UTC milliseconds
CLIENT_COLUMN = "client"  # the domain the row belongs to; hidden from `select *`
SEQ_COLUMN = "_seq"  # store-wide append sequence: cursors and arrival-order ties
