"""Checks over the declarations that no department reads without a grant what a mask hides or a grant guards.

Two rules, both over every declared table at once (so a leak through a second table is found too):

* **Combination.** What a department reads without a grant (:func:`exposed`) must not overlap what
  any field protects (:func:`protected`): a masked field protects the information its mask hides
  (from its :class:`~schemas.model.Layout` and the declared :data:`~schemas.model.MASK_RULES`)
  and the value itself; a field that needs a grant protects the value it carries. So a clear
  ``birth_date`` next to an identity number whose mask hides positions 7-14 is reported, as is a
  certificate identifier carrying a 有条件 个人编号.
* **Derivation.** A field derived row by row from others (``derived_from``) is shared at least as
  strictly, is personal when a source is, and carries what they carry; a table derived row by row
  from others is shared at least as strictly as each of them. An ``aggregated`` table may be less
  strict, provided none of its fields is personal.

:func:`problems` returns one sentence per violation; the test suite asserts it is empty.
"""

from __future__ import annotations

from collections.abc import Iterable

from schemas.model import MASK_RULES, Field, Info, PersonalClass, Table


def ref(table: Table, f: Field) -> str:
    """``schema.table.field``."""
    return f"{table.qualified_name}.{f.name}"


def shown_by_mask(f: Field) -> set[Info]:
    """The information of ``f``'s layout its mask leaves visible (nothing for a value without a layout)."""
    if f.layout is None or f.personal is PersonalClass.NONE:
        return set()
    hidden = set(MASK_RULES[f.personal].hidden_positions(f.layout.length))
    return {p.info for p in f.layout.parts if hidden.isdisjoint(range(p.start, p.end + 1))}


def hidden_by_mask(f: Field) -> set[Info]:
    """The information ``f``'s mask hides: the value itself and every layout part it does not leave whole."""
    if f.personal is PersonalClass.NONE:
        return set()
    parts = {p.info for p in f.layout.parts} if f.layout else set()
    return (set(f.carries) | parts) - shown_by_mask(f)


def exposed(table: Table, f: Field) -> set[Info]:
    """What every registered department learns from ``f`` without a grant."""
    if not table.readable_without_grant(f):
        return set()
    if f.personal is not PersonalClass.NONE:
        return shown_by_mask(f)
    return set(f.carries) | ({p.info for p in f.layout.parts} if f.layout else set())


def protected(table: Table, f: Field) -> set[Info]:
    """What ``f`` keeps from a department without a grant: what its mask hides, or all it carries."""
    if not table.readable_without_grant(f):
        return set(f.carries)
    return hidden_by_mask(f)


def combination_problems(tables: Iterable[Table]) -> list[str]:
    """Each pair of a field readable without a grant and a field whose protected information it carries."""
    tables = list(tables)
    guards = [(t, f, protected(t, f)) for t in tables for f in t.fields]
    out = []
    for t in tables:
        for f in t.fields:
            if f.personal is not PersonalClass.NONE and not f.carries:
                out.append(f"{ref(t, f)} is personal ({f.personal}) but declares nothing it carries")
            for info in sorted(exposed(t, f)):
                for gt, gf, kept in guards:
                    if info in kept and (gt, gf) != (t, f):
                        how = "its mask hides" if gt.readable_without_grant(gf) else "it needs a grant for"
                        out.append(
                            f"{ref(t, f)} is readable without a grant and carries {info}, which {how} in {ref(gt, gf)}"
                        )
    return out


def derivation_problems(tables: Iterable[Table]) -> list[str]:
    """Each derived table or field shared less strictly, or less personal, than what it is derived from."""
    by_name = {t.qualified_name: t for t in tables}
    out = []
    for t in by_name.values():
        for src_name in t.derived_from:
            src = by_name.get(src_name)
            if src is None:
                out.append(f"{t.qualified_name} is derived from {src_name}, which is not declared")
            elif not t.aggregated and t.sharing.strictness < src.sharing.strictness:
                out.append(f"{t.qualified_name} is {t.sharing} but derived from {src_name}, which is {src.sharing}")
        for f in t.fields:
            if t.aggregated and (f.personal is not PersonalClass.NONE or f.carries or f.derived_from):
                out.append(f"{ref(t, f)} is in an aggregated table but personal or derived row by row")
            for source in f.derived_from:
                out.extend(_field_derivation(by_name, t, f, source))
    return out


def _field_derivation(by_name: dict[str, Table], t: Table, f: Field, source: str) -> list[str]:
    src_table_name, _, src_field_name = source.rpartition(".")
    st = by_name.get(src_table_name)
    if st is None or src_field_name not in st.business_columns:
        return [f"{ref(t, f)} is derived from {source}, which is not declared"]
    sf = st.field(src_field_name)
    out = []
    if src_table_name not in t.derived_from:
        out.append(f"{ref(t, f)} is derived from {source} but {t.qualified_name} does not list {src_table_name}")
    if t.sharing_of(f).strictness < st.sharing_of(sf).strictness:
        out.append(f"{ref(t, f)} is {t.sharing_of(f)} but derived from {source}, which is {st.sharing_of(sf)}")
    if sf.personal is not PersonalClass.NONE and f.personal is PersonalClass.NONE:
        out.append(f"{ref(t, f)} is not personal but derived from {source}, which is {sf.personal}")
    missing = sorted(str(i) for i in set(sf.carries) - set(f.carries))
    if missing:
        out.append(f"{ref(t, f)} is derived from {source} but does not declare that it carries {missing}")
    return out


def problems(tables: Iterable[Table]) -> list[str]:
    """Every combination and derivation problem of the declared ``tables``."""
    tables = list(tables)
    return derivation_problems(tables) + combination_problems(tables)


__all__ = [
    "combination_problems",
    "derivation_problems",
    "exposed",
    "hidden_by_mask",
    "problems",
    "protected",
    "shown_by_mask",
]
