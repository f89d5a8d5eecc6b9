"""A paged REST API read incrementally into Arrow (the 人社 ``insured-persons`` API and its kind).

Each JSON page becomes one Arrow table at once (declared fields as strings, undeclared ones
kept for drift reporting); pages are gathered into batches of about ``batch_rows`` rows.

The cursor is ``{"value": <gxsj of the last row>, "tiebreak": <its grbh>, "keys": [<xzlx of
the rows of that (gxsj, grbh) already read>]}``. The API orders rows by ``gxsj`` then ``grbh``,
so everything up to that position has been read. To resume, the connector asks for
``updated_since`` one second *before* the cursor's ``gxsj`` (whether the server treats it as
inclusive or exclusive, the rows at the cursor's time come back) and drops what it has already
read: rows before ``(gxsj, grbh)``, and rows at it whose ``xzlx`` is in ``keys``. So neither
rows sharing one ``gxsj`` nor the several insurance types of one person are skipped or read
twice, wherever a page, batch or run boundary falls, and whatever order the types of one
person come in. A page out of ``(gxsj, grbh)`` order fails with a clear error rather than
risking a silent gap.

Connection (Airflow, e.g. ``AIRFLOW_CONN_RS_SOCIAL_INSURANCE``): ``host`` and ``port``, ``schema``
= URL scheme (``http`` unless given; a ``host`` with ``://`` is used as is), ``login`` = app_id,
``password`` = app_secret. Extras: ``base_path`` (prefix before ``/api/v1``), ``page_size``
(1..1000, default 1000), ``timeout`` (read timeout, default 60 s: month-end pages take over
20 s), ``connect_timeout`` (10 s), ``max_attempts`` (6), ``backoff_base`` (0.5 s),
``backoff_max`` (30 s), ``batch_rows`` (20,000), ``verify`` (TLS verification or a CA bundle).
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from connectors.base import DEFECT_COLUMN, Cursor, ExtractBatch, SourceError
from connectors.rest_client import RetryPolicy, TokenApiClient

ISO_TIMESTAMP = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:?\d{2})$"
CLIENT_EXTRAS = {"timeout": float, "connect_timeout": float}
RETRY_EXTRAS = {"max_attempts": int, "backoff_base": float, "backoff_max": float}
SOURCE_EXTRAS = {"page_size": int, "batch_rows": int}


@dataclass(frozen=True)
class Position:
    """A point in the API's order: a time (µs since the epoch, UTC), a tiebreak and the keys read at it."""

    micros: int
    tiebreak: str
    keys: frozenset[str]

    @classmethod
    def of(cls, cursor: Cursor) -> Position:
        """The position a cursor names."""
        return cls(
            _micros(str(cursor["value"])), str(cursor["tiebreak"]), frozenset(str(k) for k in cursor.get("keys", ()))
        )


def _micros(value: str) -> int:
    return int(dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1_000_000)


@dataclass
class RestPagedSource:
    """An incremental reader of one paged endpoint.

    Attributes:
        name: Source registry name (for messages).
        client: The HTTP client (token, retries).
        path: Path of the paged endpoint.
        fields: Fields the API is specified to deliver (read as strings).
        optional_fields: Declared fields the API leaves out when empty (e.g. a card not issued yet).
        cursor_field: The update time the API orders by and ``updated_since`` filters on.
        tiebreak_field: The second ordering field.
        key_field: The rest of a row's key within one (cursor, tiebreak) value.
        page_size: Rows per page requested.
        batch_rows: Rows gathered into one yielded batch (whole pages).
        overlap_seconds: How far before the cursor ``updated_since`` is set.
    """

    name: str
    client: TokenApiClient
    path: str
    fields: tuple[str, ...]
    optional_fields: tuple[str, ...] = ()
    cursor_field: str = "gxsj"
    tiebreak_field: str = "grbh"
    key_field: str = "xzlx"
    page_size: int = 1000
    batch_rows: int = 20_000
    overlap_seconds: float = 1.0

    def read(self, cursor: Cursor | None, until: Cursor | None = None) -> Iterator[ExtractBatch]:
        """Yield the rows after ``cursor`` (and not after ``until``) in API order, whole pages per batch."""
        start = Position.of(cursor) if cursor else None
        end = Position.of(until) if until else None
        since = None
        if cursor:
            since_dt = dt.datetime.fromisoformat(str(cursor["value"]).replace("Z", "+00:00"))
            since = (since_dt - dt.timedelta(seconds=self.overlap_seconds)).isoformat()
        last = start
        pending: list[pa.Table] = []
        pending_rows = read = 0
        first_page = page_no = 0
        api_cursor: str | None = None
        previous: tuple[int, str] | None = None
        try:
            while True:
                page_no += 1
                where = f"{self.path} page {page_no} (updated_since {since or 'start'})"
                body = self.client.get_json(
                    self.path, {"updated_since": since, "page_size": self.page_size, "cursor": api_cursor}, where
                )
                if not isinstance(body, dict) or not isinstance(body.get("data"), list):
                    raise SourceError(f"source {self.name}: {where}: reply has no data list")
                page = self._arrow(body["data"], where)
                micros, ties = self._order(page, where, previous)
                if page.num_rows:
                    previous = (int(micros[-1]), ties[-1])
                keep, beyond = _window(micros, ties, page[self.key_field], start, end)
                kept = page.filter(pa.array(keep))
                if kept.num_rows:
                    last = _advance(last, micros[keep], [t for t, k in zip(ties, keep, strict=True) if k], kept, self)
                    if not pending:
                        first_page = page_no
                    pending.append(kept)
                    pending_rows += kept.num_rows
                next_cursor = body.get("next_cursor")
                done = beyond or not next_cursor
                if pending and (pending_rows >= self.batch_rows or done):
                    data = pa.concat_tables(pending, promote_options="permissive")
                    locator = f"{self.path} pages {first_page}-{page_no} rows {read + 1}-{read + data.num_rows}"
                    assert last is not None
                    yield ExtractBatch(data, self._cursor(last, kept_last=data), locator)
                    read += data.num_rows
                    pending, pending_rows = [], 0
                if done:
                    return
                if next_cursor == api_cursor:
                    raise SourceError(f"source {self.name}: {where}: next_cursor did not advance")
                api_cursor = str(next_cursor)
        finally:
            self.client.close()

    def _cursor(self, last: Position, kept_last: pa.Table) -> Cursor:
        value = kept_last[self.cursor_field][kept_last.num_rows - 1].as_py()
        return {"value": value, "tiebreak": last.tiebreak, "keys": sorted(last.keys)}

    def _arrow(self, rows: list[Any], where: str) -> pa.Table:
        """One page as Arrow: declared fields as strings, undeclared ones as delivered.

        A declared field holding another JSON type than a string, or a string with bytes that are
        not UTF-8, does not stop the page: the value is kept as text (JSON text, or with ``U+FFFD``
        for the bad bytes) and its row flagged in :data:`~connectors.base.DEFECT_COLUMN`, so the
        pipeline quarantines that row alone. Only a page that fails to convert pays for the check.
        """
        if rows and not all(isinstance(r, dict) for r in rows):
            raise SourceError(f"source {self.name}: {where}: a row is not a JSON object")
        present: dict[str, None] = {}
        for r in rows:
            present.update(dict.fromkeys(r))
        columns: dict[str, pa.Array] = {}
        defects: list[str | None] = [None] * len(rows)
        for name in self.fields:
            if name not in present and name not in self.optional_fields and rows:
                continue  # a declared field gone from the whole page: the mapping fails the batch
            values = [r.get(name) for r in rows]
            try:
                columns[name] = pa.array(values, pa.string())
            except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeEncodeError):
                columns[name] = pa.array(_as_text(values, name, defects), pa.string())
        for name in present:
            if name not in columns and name not in self.fields:
                values = [r.get(name) for r in rows]
                try:
                    columns[name] = pa.array(values)
                except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeEncodeError):
                    columns[name] = pa.array(_as_text(values, name, [None] * len(rows)), pa.string())
        if any(defects):
            columns[DEFECT_COLUMN] = pa.array(defects, pa.string())
        return pa.table(columns) if columns else pa.table({f: pa.array([], pa.string()) for f in self.fields})

    def _order(self, page: pa.Table, where: str, previous: tuple[int, str] | None) -> tuple[np.ndarray, list[str]]:
        """The page's times (µs, UTC) and tiebreaks, checked to be in API order."""
        for name in (self.cursor_field, self.tiebreak_field, self.key_field):
            if name not in page.column_names and page.num_rows:
                raise SourceError(f"source {self.name}: {where}: field {name} missing from the page")
        if not page.num_rows:
            return np.empty(0, dtype=np.int64), []
        stamps = page[self.cursor_field]
        good = pc.fill_null(pc.match_substring_regex(stamps, ISO_TIMESTAMP), False)
        ties = page[self.tiebreak_field]
        usable = pc.and_(good, pc.is_valid(ties)).to_numpy(zero_copy_only=False)
        if not usable.all():
            bad = int(np.flatnonzero(~usable)[0])
            raise SourceError(
                f"source {self.name}: {where} row {bad + 1}: {self.cursor_field} is not an ISO-8601 time "
                f"with offset, or {self.tiebreak_field} is missing"
            )
        micros = pc.cast(pc.cast(stamps, pa.timestamp("us", tz="UTC")), pa.int64()).to_numpy(zero_copy_only=False)
        tie_list = ties.to_pylist()
        all_micros = micros if previous is None else np.r_[previous[0], micros]
        all_ties = tie_list if previous is None else [previous[1], *tie_list]
        step = np.diff(all_micros)
        same = step == 0
        tie_down = np.array([b < a for a, b in itertools.pairwise(all_ties)], dtype=bool)
        wrong = (step < 0) | (same & tie_down)
        if wrong.any():
            # transition i leads to all[i + 1], which is page row i + 1 (or i when a previous page leads)
            row = int(np.flatnonzero(wrong)[0]) + (0 if previous is not None else 1)
            raise SourceError(
                f"source {self.name}: {where} row {row + 1}: rows are not in "
                f"({self.cursor_field}, {self.tiebreak_field}) order; refusing to guess what was skipped"
            )
        return micros, tie_list


def _as_text(values: list[Any], name: str, defects: list[str | None]) -> list[str | None]:
    """``values`` of field ``name`` as text, noting in ``defects`` each row whose value had to be coerced."""
    out: list[str | None] = []
    for i, value in enumerate(values):
        if value is None:
            out.append(None)
        elif isinstance(value, str):
            try:
                value.encode("utf-8")
                out.append(value)
            except UnicodeEncodeError:
                defects[i] = defects[i] or f"value.invalid_utf8|{name}"
                out.append(_repaired(value))
        else:
            defects[i] = defects[i] or f"value.type|{name}"
            out.append(_repaired(json.dumps(value, ensure_ascii=False)))
    return out


def _repaired(text: str) -> str:
    """``text`` with the lone surrogates standing for undecodable bytes replaced by ``U+FFFD``."""
    try:
        raw = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        raw = text.encode("utf-8", "surrogatepass")
    return raw.decode("utf-8", "replace")


def _window(
    micros: np.ndarray, ties: list[str], keys: pa.ChunkedArray | None, start: Position | None, end: Position | None
) -> tuple[np.ndarray, bool]:
    """Rows after ``start`` and not after ``end``, and whether the page went past ``end``."""
    n = len(micros)
    keep = np.ones(n, dtype=bool)
    beyond = False
    if not n:
        return keep, beyond
    key_list = keys.to_pylist() if keys is not None else [None] * n
    if start is not None:
        at = micros == start.micros
        tie_arr = np.array(ties, dtype=str)
        before = (micros < start.micros) | (at & (tie_arr < start.tiebreak))
        same = at & (tie_arr == start.tiebreak)
        seen = same & np.array([k in start.keys for k in key_list], dtype=bool)
        keep &= ~(before | seen)
    if end is not None:
        at = micros == end.micros
        tie_arr = np.array(ties, dtype=str)
        after = (micros > end.micros) | (at & (tie_arr > end.tiebreak))
        same = at & (tie_arr == end.tiebreak)
        unseen = same & ~np.array([k in end.keys for k in key_list], dtype=bool)
        keep &= ~(after | unseen)
        beyond = bool(after.any())
    return keep, beyond


def _advance(
    last: Position | None, micros: np.ndarray, ties: list[str], kept: pa.Table, source: RestPagedSource
) -> Position:
    """The position after the kept rows of a page (keys accumulate while (time, tiebreak) stays the same)."""
    end_micros, end_tie = int(micros[-1]), ties[-1]
    keys = kept[source.key_field].to_pylist()
    at_end = {str(k) for m, t, k in zip(micros, ties, keys, strict=True) if m == end_micros and t == end_tie}
    if last is not None and (last.micros, last.tiebreak) == (end_micros, end_tie):
        at_end |= last.keys
    return Position(end_micros, end_tie, frozenset(at_end))


def build(name: str, conn: Any, options: dict[str, Any]) -> RestPagedSource:
    """A :class:`RestPagedSource` from an Airflow connection and the registry options.

    Registry ``options`` give the API's shape (``path``, ``token_path``, ``fields`` (by default the
    mapping's source columns),
    ``optional_fields``, ``cursor_field``, ``tiebreak_field``, ``key_field``) and default tuning;
    the connection's extras override the tuning (see the module docstring).
    """
    extras = {
        **{k: v for k, v in options.items() if k in {**CLIENT_EXTRAS, **RETRY_EXTRAS, **SOURCE_EXTRAS}},
        **(conn.extra_dejson or {}),
    }
    host = str(conn.host or "")
    if "://" in host:
        base = host.rstrip("/")
    else:
        base = f"{conn.schema or 'http'}://{host}" + (f":{conn.port}" if conn.port else "")
    base += str(extras.get("base_path", "")).rstrip("/")
    if not conn.login or not conn.password:
        raise SourceError(f"source {name}: connection has no login (app_id) or password (app_secret)")
    page_size = int(extras.get("page_size", 1000))
    if not 1 <= page_size <= 1000:
        raise SourceError(f"source {name}: page_size must be 1..1000, got {page_size}")
    client = TokenApiClient(
        source=name,
        base_url=base,
        app_id=conn.login,
        app_secret=conn.password,
        token_path=options.get("token_path", "/api/v1/token"),
        retry=RetryPolicy(**{k: t(extras[k]) for k, t in RETRY_EXTRAS.items() if k in extras}),
        verify=extras.get("verify", True),
        **{k: t(extras[k]) for k, t in CLIENT_EXTRAS.items() if k in extras},
    )
    shape = {k: options[k] for k in ("cursor_field", "tiebreak_field", "key_field") if k in options}
    return RestPagedSource(
        name=name,
        client=client,
        path=options["path"],
        fields=tuple(options["fields"]),
        optional_fields=tuple(options.get("optional_fields", ())),
        page_size=page_size,
        batch_rows=int(extras.get("batch_rows", 20_000)),
        **shape,
    )
