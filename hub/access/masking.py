"""Masking of personal fields, once in Python and once as SQL, by the same rules.

Rules (by :class:`schemas.model.PersonalClass`), counted in characters:

* ``identifier`` (identity number, USCC of a person, any ID ≥ 10 characters): keep the first 6
  and the last 4, a ``*`` for each character between: ``640104********1234``. Shorter values
  are fully starred.
* ``phone``: keep the first 3 and the last 4, a ``*`` for each between: ``138****5678``
  (values under 8 characters are fully starred).
* ``name``: keep the first character (the family name in most cases), a ``*`` for each
  other: ``张**``.
* ``address``: keep the first 6 characters (province/city/district level) and append a fixed
  ``****``, so the length of the rest is not revealed; 6 characters or fewer are fully starred.
* ``other`` (e.g. social-security card number): keep the last 4, a ``*`` for each other.

``None`` stays ``None``. The API selects the SQL expressions, the generated views use the same
expressions, and tests check that Python and SQL agree.
"""

from __future__ import annotations

from schemas.model import PersonalClass


def mask(personal: PersonalClass, value: str | None) -> str | None:
    """Mask ``value`` by the rule for ``personal`` (``none`` returns it unchanged)."""
    if value is None or personal is PersonalClass.NONE:
        return value
    n = len(value)
    match personal:
        case PersonalClass.IDENTIFIER:
            return value[:6] + "*" * (n - 10) + value[-4:] if n >= 10 else "*" * n
        case PersonalClass.PHONE:
            return value[:3] + "*" * (n - 7) + value[-4:] if n >= 8 else "*" * n
        case PersonalClass.NAME:
            return value[:1] + "*" * (n - 1)
        case PersonalClass.ADDRESS:
            return value[:6] + "****" if n > 6 else "*" * n
        case _:
            return "*" * (n - 4) + value[-4:] if n > 4 else "*" * n


def mask_sql(personal: PersonalClass, column: str) -> str:
    """The SQL expression masking ``column`` (a trusted, declared column name) like :func:`mask`."""
    c = column
    match personal:
        case PersonalClass.NONE:
            return c
        case PersonalClass.IDENTIFIER:
            return (
                f"CASE WHEN length({c}) >= 10 THEN left({c}, 6) || repeat('*', length({c}) - 10) || right({c}, 4) "
                f"ELSE repeat('*', length({c})) END"
            )
        case PersonalClass.PHONE:
            return (
                f"CASE WHEN length({c}) >= 8 THEN left({c}, 3) || repeat('*', length({c}) - 7) || right({c}, 4) "
                f"ELSE repeat('*', length({c})) END"
            )
        case PersonalClass.NAME:
            return f"left({c}, 1) || repeat('*', greatest(length({c}) - 1, 0))"
        case PersonalClass.ADDRESS:
            return f"CASE WHEN length({c}) > 6 THEN left({c}, 6) || '****' ELSE repeat('*', length({c})) END"
        case _:
            return (
                f"CASE WHEN length({c}) > 4 THEN repeat('*', length({c}) - 4) || right({c}, 4) "
                f"ELSE repeat('*', length({c})) END"
            )
