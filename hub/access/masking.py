"""Masking of personal fields, once in Python and once as SQL, from the declared rules.

The rules are declared in :data:`schemas.model.MASK_RULES` by what they hide, counted in characters:

* ``identifier`` (identity number, USCC of a person, any other ID): keep the first 6 and the last 4,
  a ``*`` for each character between, when that hides at least 8: ``640104********1234``.
* ``phone``: keep the first 3 and the last 4 when that hides at least 4: ``138****5678``.
* ``name``: keep the first character (the family name in most cases) when at least one other is
  hidden: ``张**``.
* ``address``: keep the first 6 characters (province/city/district level) and append a fixed
  ``****``, so the length of the rest is not revealed, when at least 4 characters are hidden.
* ``other`` (e.g. social-security card number): keep the last 4 when at least 4 are hidden.

A value too short to hide that much is masked entirely (one ``*`` per character, or ``****`` for an
address), whatever its length: a 10-character identifier or an 8-character phone is never shown
nearly whole. ``None`` stays ``None`` and ``""`` stays ``""``. The API selects the SQL expressions,
the generated views use the same expressions, and tests check that Python and SQL agree.
"""

from __future__ import annotations

from schemas.model import MASK_RULES, PersonalClass


def mask(personal: PersonalClass, value: str | None) -> str | None:
    """Mask ``value`` by the rule for ``personal`` (``none`` returns it unchanged)."""
    if value is None or personal is PersonalClass.NONE or value == "":
        return value
    rule = MASK_RULES[personal]
    n = len(value)
    if n < rule.min_length:
        return rule.filler if rule.filler is not None else "*" * n
    middle = rule.filler if rule.filler is not None else "*" * (n - rule.head - rule.tail)
    return value[: rule.head] + middle + value[n - rule.tail :]


def mask_sql(personal: PersonalClass, column: str) -> str:
    """The SQL expression masking ``column`` (a trusted, declared column name) like :func:`mask`."""
    c = column
    if personal is PersonalClass.NONE:
        return c
    rule = MASK_RULES[personal]
    if rule.filler is not None:
        middle = _literal(rule.filler)
        # NULL and '' fall through to the ELSE branch unchanged
        short = f"WHEN length({c}) > 0 THEN {middle} ELSE {c}"
    else:
        middle = f"repeat('*', length({c}) - {rule.head + rule.tail})"
        short = f"ELSE repeat('*', length({c}))"
    shown = [*([f"left({c}, {rule.head})"] if rule.head else []), middle]
    if rule.tail:
        shown.append(f"right({c}, {rule.tail})")
    return f"CASE WHEN length({c}) >= {rule.min_length} THEN {' || '.join(shown)} {short} END"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
