"""Departments consuming the shared tables under the sharing rules (catalogue, grants, audit, objections)."""
