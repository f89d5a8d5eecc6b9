"""Running ShareHub like production: the local stack, status and freshness, lineage."""
