"""A directory of delivered CSV files, each with an ``.ok`` marker, read once each by content hash.

A department's transfer job drops ``<name>.csv`` into an inbox and then an empty ``<name>.ok``;
a file without its marker (or newer than it) is still being written and is not touched. The inbox is only read,
never changed: repeating a run re-reads the same files.

The cursor is the list of deliveries handled so far, in order, each with the file's name,
SHA-256, size, modification times and record count; a delivery whose content was already
loaded carries ``duplicate_of`` and is skipped. The list only grows, so it is committed with
the load it covers (``hub.cursor`` and the ledger's ``cursor_to``) and the view
``hub.file_delivery`` lists every delivery with the batch that handled it. While a file is
being read, ``at`` holds the records read so far, so every batch boundary is a resume point.

A file is detected as UTF-8 when it starts with a byte-order mark, else read as GB18030 (the
superset of GBK). It is streamed block by block (transcoded on the fly), so memory does not
grow with the file. Quoted commas and line breaks are part of their field; a blank last line
is ignored; a record with the wrong number of fields (a truncated last line) stops the run
with the file name, line number and rule, never the record's content.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv

from connectors.base import Cursor, ExtractBatch, SourceError

log = logging.getLogger(__name__)

FILE_COLUMN = "_file"
RECORD_COLUMN = "_record"
LINEAGE_COLUMNS = (FILE_COLUMN, RECORD_COLUMN)
"""Columns the connector adds to every batch: the delivered file's name and the record number in it."""
BOM = codecs.BOM_UTF8
DEFAULT_ENCODING = "gb18030"


@dataclass(frozen=True)
class Delivery:
    """One complete file in the inbox."""

    path: Path
    size: int
    mtime_ns: int
    ok_mtime_ns: int

    @property
    def name(self) -> str:
        """The file name."""
        return self.path.name

    def same_as(self, entry: dict[str, Any]) -> bool:
        """Whether a cursor entry describes this very delivery (unchanged file and marker)."""
        return (entry.get("size"), entry.get("mtime_ns"), entry.get("ok_mtime_ns")) == (
            self.size,
            self.mtime_ns,
            self.ok_mtime_ns,
        )


def sha256_of(path: Path, chunk: int = 1 << 20) -> str:
    """SHA-256 of a file's content, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def cursor_key(cursor: Cursor | None) -> tuple[int, int]:
    """The order of file-drop cursors: deliveries handled, then records read into the current file."""
    if not cursor:
        return (0, 0)
    return (len(cursor.get("files", [])), int((cursor.get("at") or {}).get("records", 0)))


@dataclass
class FileDropSource:
    """Complete CSV deliveries in an inbox directory, in name order, each content read once.

    Attributes:
        name: Source registry name (for messages).
        inbox: The inbox directory.
        pattern: Glob of the data files (their names sort in delivery order, e.g. by date).
        columns: The declared header; a file missing one of them fails with nothing loaded.
        block_size: Bytes parsed at a time. The reader queues up to 32 blocks ahead, so this
            bounds memory (about 20 MB at the default), whatever the file size.
        batch_rows: Records per yielded batch (blocks are gathered up to it).
    """

    name: str
    inbox: Path
    pattern: str = "*.csv"
    columns: tuple[str, ...] = ()
    block_size: int = 512 << 10
    batch_rows: int = 50_000

    def deliveries(self) -> list[Delivery]:
        """Data files whose ``.ok`` marker is there and not older than the data, in name order.

        A data file modified after its marker is being delivered again over the old one; it is
        complete again once the sender writes a fresh marker.
        """
        found = []
        for path in sorted(Path(self.inbox).glob(self.pattern)):
            marker = path.with_suffix(".ok")
            try:
                stat, ok = path.stat(), marker.stat()
            except FileNotFoundError:
                log.info("source %s: %s has no .ok marker yet; not read", self.name, path.name)
                continue
            if stat.st_mtime_ns > ok.st_mtime_ns:
                log.info("source %s: %s is newer than its .ok marker (being rewritten); not read", self.name, path.name)
                continue
            found.append(Delivery(path, stat.st_size, stat.st_mtime_ns, ok.st_mtime_ns))
        return found

    def read(self, cursor: Cursor | None, until: Cursor | None = None) -> Iterator[ExtractBatch]:
        """Yield the records of deliveries not handled by ``cursor`` (only those listed in ``until``, when given).

        A delivery whose content hash was loaded before yields one empty batch that records it
        as a duplicate in the cursor.
        """
        if not Path(self.inbox).is_dir():
            raise SourceError(f"source {self.name}: inbox {self.inbox} is not a directory")
        done = list((cursor or {}).get("files", []))
        at = (cursor or {}).get("at")
        plan = self._bounded_plan(done, at, until) if until is not None else self._open_plan(done, at)
        for entry, delivery, start, stop in plan:
            yield from self._deliver(done, entry, delivery, start, stop)
            if stop is None:
                done.append(entry)

    def _open_plan(
        self, done: list[dict[str, Any]], at: dict[str, Any] | None
    ) -> Iterator[tuple[dict[str, Any], Delivery, int, int | None]]:
        """Every complete delivery not yet handled, in name order."""
        latest = {e["file"]: e for e in done}
        loaded = {e["sha256"]: e["file"] for e in done if "duplicate_of" not in e}
        for delivery in self.deliveries():
            known = latest.get(delivery.name)
            if known is not None and delivery.same_as(known) and not (at and at["file"] == delivery.name):
                continue
            if at and at["file"] == delivery.name and delivery.same_as(at):
                entry, start = dict(at), int(at["records"])
            else:
                entry, start = self._entry(delivery, sha256_of(delivery.path)), 0
                if entry["sha256"] in loaded:
                    entry["duplicate_of"] = loaded[entry["sha256"]]
            entry.pop("records", None)
            if "duplicate_of" not in entry:
                loaded[entry["sha256"]] = entry["file"]
            latest[delivery.name] = entry
            yield entry, delivery, start, None

    def _bounded_plan(
        self, done: list[dict[str, Any]], at: dict[str, Any] | None, until: Cursor
    ) -> Iterator[tuple[dict[str, Any], Delivery, int, int | None]]:
        """Exactly the deliveries ``until`` lists after ``done`` (a repeated window), from the same bytes."""
        listed = list(until.get("files", []))
        if [e["sha256"] for e in listed[: len(done)]] != [e["sha256"] for e in done]:
            raise SourceError(f"source {self.name}: the window's end does not follow on from its start")
        work: list[tuple[dict[str, Any], int | None]] = [(dict(e), None) for e in listed[len(done) :]]
        if until.get("at"):
            work.append((dict(until["at"]), int(until["at"]["records"])))
        by_name = {d.name: d for d in self.deliveries()}
        for i, (entry, stop) in enumerate(work):
            start = int(at["records"]) if i == 0 and at and at["file"] == entry["file"] else 0
            delivery = by_name.get(entry["file"])
            if "duplicate_of" not in entry and (delivery is None or sha256_of(delivery.path) != entry["sha256"]):
                raise SourceError(
                    f"source {self.name}: {entry['file']} (sha256 {entry['sha256'][:12]}) is no longer in the inbox "
                    "as it was read; the window cannot be repeated"
                )
            entry.pop("records", None)
            yield entry, delivery or Delivery(Path(self.inbox) / entry["file"], 0, 0, 0), start, stop

    @staticmethod
    def _entry(delivery: Delivery, sha256: str) -> dict[str, Any]:
        return {
            "file": delivery.name,
            "sha256": sha256,
            "size": delivery.size,
            "mtime_ns": delivery.mtime_ns,
            "ok_mtime_ns": delivery.ok_mtime_ns,
        }

    def _deliver(
        self, done: list[dict[str, Any]], entry: dict[str, Any], delivery: Delivery, start: int, stop: int | None
    ) -> Iterator[ExtractBatch]:
        """The batches of one delivery; the last one's cursor records the delivery as handled."""
        if "duplicate_of" in entry:
            log.warning(
                "source %s: %s (sha256 %s) has the content of %s, already loaded: recorded as a duplicate, skipped",
                self.name,
                entry["file"],
                entry["sha256"][:12],
                entry["duplicate_of"],
            )
            entry["records"] = 0
            yield ExtractBatch(self._empty(), {"files": [*done, entry]}, f"{entry['file']} (duplicate delivery)")
            return
        records = start
        pending: ExtractBatch | None = None
        for data in self._records(delivery.path, start, stop):
            first = records + 1
            records += data.num_rows
            if pending is not None:
                yield pending
            cursor = {"files": list(done), "at": {**entry, "records": records}}
            pending = ExtractBatch(data, cursor, f"{entry['file']} records {first}-{records}")
        final = {"files": [*done, {**entry, "records": records}]}
        if stop is not None:
            final = {"files": list(done), "at": {**entry, "records": records}}
        if pending is None:
            pending = ExtractBatch(self._empty(), final, f"{entry['file']} (no records)")
        yield ExtractBatch(pending.data, final, pending.locator)
        entry["records"] = records

    def _empty(self) -> pa.Table:
        names = [*self.columns, FILE_COLUMN]
        return pa.table(
            {**{c: pa.array([], pa.string()) for c in names}, RECORD_COLUMN: pa.array([], pa.int64())},
        )

    def _records(self, path: Path, start: int, stop: int | None) -> Iterator[pa.Table]:
        """Stream a file's records ``start`` (exclusive) to ``stop`` (inclusive), ``batch_rows`` at a time."""
        gathered: list[pa.Table] = []
        rows = 0
        for piece in self._blocks(path, start, stop):
            gathered.append(piece)
            rows += piece.num_rows
            if rows >= self.batch_rows:
                yield pa.concat_tables(gathered)
                gathered, rows = [], 0
        if gathered:
            yield pa.concat_tables(gathered)

    def _blocks(self, path: Path, start: int, stop: int | None) -> Iterator[pa.Table]:
        """A file's records ``start`` (exclusive) to ``stop`` (inclusive), block by block, as strings plus lineage."""
        encoding, header = self._header(path)
        bad: list[int] = []

        def invalid(row: Any) -> str:
            bad.append(row.actual_columns)
            return "skip"

        try:
            reader = pacsv.open_csv(
                path,
                read_options=pacsv.ReadOptions(encoding=encoding, block_size=self.block_size),
                parse_options=pacsv.ParseOptions(newlines_in_values=True, invalid_row_handler=invalid),
                convert_options=pacsv.ConvertOptions(
                    column_types={c: pa.string() for c in header}, strings_can_be_null=False
                ),
            )
        except (pa.ArrowInvalid, UnicodeDecodeError) as err:
            raise self._parse_error(path, encoding, len(header), err) from None
        seen = 0
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                break
            except (pa.ArrowInvalid, UnicodeDecodeError) as err:
                raise self._parse_error(path, encoding, len(header), err) from None
            if bad:
                raise self._parse_error(path, encoding, len(header), None)
            lo, hi = seen, seen + batch.num_rows
            seen = hi
            keep_from = max(start - lo, 0)
            keep_to = batch.num_rows if stop is None else min(max(stop - lo, 0), batch.num_rows)
            if keep_to <= keep_from:
                if stop is not None and hi >= stop:
                    break
                continue
            data = pa.Table.from_batches([batch.slice(keep_from, keep_to - keep_from)])
            numbers = pa.array(range(lo + keep_from + 1, lo + keep_to + 1), pa.int64())
            yield data.append_column(FILE_COLUMN, pa.array([path.name] * data.num_rows, pa.string())).append_column(
                RECORD_COLUMN, numbers
            )
            if stop is not None and hi >= stop:
                break

    def _header(self, path: Path) -> tuple[str, list[str]]:
        """The file's encoding and header names; fails when a declared column is missing."""
        with open(path, "rb") as f:
            head = f.read(64 << 10)
        line = head.split(b"\n", 1)[0].rstrip(b"\r")
        if line.startswith(BOM):
            encoding, line = "utf8", line[len(BOM) :]
        else:
            encoding = DEFAULT_ENCODING
            if self.columns and not set(self.columns) & set(_split(line, encoding)) and _decodes(line, "utf8"):
                encoding = "utf8"
        try:
            header = _split(line, encoding, strict=True)
        except UnicodeDecodeError:
            raise SourceError(
                f"source {self.name}: {path.name} line 1: the header is neither GBK nor UTF-8 "
                "[rule file.encoding]; nothing from this file was loaded"
            ) from None
        missing = [c for c in self.columns if c not in header]
        if missing:
            raise SourceError(
                f"source {self.name}: {path.name} line 1: declared column(s) {', '.join(missing)} missing from the "
                "header [rule schema.missing_column]; nothing from this file was loaded"
            )
        return encoding, header

    def _parse_error(self, path: Path, encoding: str, expected: int, err: BaseException | None) -> SourceError:
        """A readable error for a record the parser refused, located by a second (error-path only) scan.

        The parser's own message may quote the record, which can hold personal data, so it is not used.
        """
        if isinstance(err, UnicodeDecodeError):
            return SourceError(
                f"source {self.name}: {path.name}: bytes are not valid {encoding} [rule file.encoding]; "
                "nothing from this file was loaded"
            )
        line, fields, last = locate_bad_record(path, encoding, expected)
        if line is None:
            return SourceError(f"source {self.name}: {path.name}: the file cannot be parsed as CSV [rule file.parse]")
        rule = "file.truncated_line" if last else "file.field_count"
        what = "truncated last line" if last else "wrong number of fields"
        return SourceError(
            f"source {self.name}: {path.name} line {line}: {what} ({fields} of {expected} fields) [rule {rule}]; "
            "nothing from this file was loaded"
        )


def _split(line: bytes, encoding: str, strict: bool = False) -> list[str]:
    text = line.decode(encoding, errors="strict" if strict else "replace")
    return next(csv.reader([text]), [])


def _decodes(data: bytes, encoding: str) -> bool:
    try:
        data.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


def locate_bad_record(path: Path, encoding: str, expected: int) -> tuple[int | None, int, bool]:
    """The first line of the first record without ``expected`` fields, its field count, and whether it is the last.

    Streams the file once (text, decoded), counting physical lines, so quoted line breaks are
    counted as the lines they are. Blank lines are not records.
    """
    codec = "utf-8-sig" if encoding == "utf8" else encoding
    with open(path, "rb") as raw, io.TextIOWrapper(raw, encoding=codec, newline="") as text:
        reader = csv.reader(text)
        previous_end = 0
        found: tuple[int, int] | None = None
        try:
            for row in reader:
                start = previous_end + 1
                previous_end = reader.line_num
                if not row:
                    continue
                if found is not None:
                    return found[0], found[1], False
                if len(row) != expected:
                    found = (start, len(row))
        except csv.Error:
            return previous_end + 1, 0, True
        if found is not None:
            return found[0], found[1], True
    return None, 0, False


def inbox_from_connection(conn_id: str) -> Path:
    """The inbox directory of an ``fs`` Airflow connection (its extra ``path``)."""
    from connectors.connections import ConnectionNotDefinedError, get_connection

    conn = get_connection(conn_id)
    if conn is None:
        raise ConnectionNotDefinedError(
            f"Airflow connection {conn_id!r} is not defined (set AIRFLOW_CONN_{conn_id.upper()} or a secrets backend)"
        )
    path = (conn.extra_dejson or {}).get("path")
    if not path:
        raise ConnectionNotDefinedError(f"Airflow connection {conn_id!r} has no extra 'path' (the inbox directory)")
    return Path(os.path.expanduser(path))
