"""Alembic's environment: ``MetaStore`` hands over its connection, inside its transaction."""

from alembic import context

from linqd.meta.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
