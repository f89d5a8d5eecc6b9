"""Standard shared tables and each source's mapping to them, declared once.

DDL, Arrow schemas, GX suites and API docs are all derived from the declarations in
:mod:`schemas.tables`; nothing downstream copies a column list by hand.
"""
