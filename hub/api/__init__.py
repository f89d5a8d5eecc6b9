"""The departments' HTTP API (FastAPI): catalogue, queries, verification, prefill, grants, objections."""
