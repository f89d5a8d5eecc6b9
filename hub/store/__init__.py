"""The shared store: PostgreSQL, embedded by default or the server behind ``hub_store``."""
