"""Source-to-standard-table mappings, one module per source."""
