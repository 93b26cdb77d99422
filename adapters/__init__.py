"""The edges: one package per chat platform. Adapters depend on `bot`, never the reverse."""
