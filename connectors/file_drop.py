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
grow with the file. Quoted commas and line breaks are part of their field.

Dirt is row-level. A record that cannot be a row (a blank or truncated line, the wrong number of
fields, bytes not valid in the file's encoding, a NUL or other control byte) is handed to the
pipeline as a rejected record with its file, physical line, rule and exact bytes, and the rest
of the file loads. Clean files take the fast path (Arrow's CSV reader); the first sign of dirt
switches the rest of that file to a careful reader that walks it record by record. Only what
makes a whole file unreadable (a declared column missing from the header, an encoding that fails
throughout) rejects the file: it is recorded in the cursor with its rule and reason (so
``hub.file_delivery`` shows it), nothing of it loads, and later files load as usual. A corrected
file delivered again under the same name with a fresh ``.ok`` is read again.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import json
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from connectors.base import REJECTED_SCHEMA, Cursor, ExtractBatch, SourceError
from connectors.connections import require_connection

log = logging.getLogger(__name__)

FILE_COLUMN = "_file"
RECORD_COLUMN = "_record"
LINE_COLUMN = "_line"
LINEAGE_COLUMNS = (FILE_COLUMN, RECORD_COLUMN, LINE_COLUMN)
"""Columns the connector adds to every batch: the delivered file's name, the record number in it
(blank and rejected records count too) and the physical line the record starts on."""
BOM = codecs.BOM_UTF8
DEFAULT_ENCODING = "gb18030"
CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
"""C0 controls but tab, line feed and carriage return, and DEL: never data. In GBK, GB18030 and
UTF-8 these bytes only ever stand for themselves, so a byte-level search is exact."""
BLANK_LINE = re.compile(rb"\n[ \t\r]*\n")
MAX_RECORD_LINES = 100
"""A quoted field spanning more lines than this is taken for a stray quote (see :func:`_physical_records`)."""
ENCODING_REJECT_SHARE = 0.5
"""A file whose first 64 KB has more than this share of lines not valid in its encoding is
unreadable throughout: rejected as a whole rather than quarantined line by line."""


class FileRejected(Exception):
    """A whole delivered file cannot be read (its rule and a reason without any record content)."""

    def __init__(self, rule: str, reason: str) -> None:
        super().__init__(reason)
        self.rule = rule
        self.reason = reason


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


@dataclass(frozen=True)
class Piece:
    """Consecutive records of one file: the rows parsed, the records rejected, and the record number reached."""

    data: pa.Table
    rejected: pa.Table
    end: int


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
        columns: The declared header; a file missing one of them is rejected with nothing loaded.
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
        as a duplicate in the cursor; so does a rejected file, recording its rule and reason.
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
        loaded = {e["sha256"]: e["file"] for e in done if "duplicate_of" not in e and "rejected" not in e}
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
            if start:
                entry["quarantined"] = int(at.get("quarantined", 0))  # the count up to the window's start
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
        quarantined = int(entry.pop("quarantined", 0) or 0) if start else 0
        entry.pop("quarantined", None)
        pending: ExtractBatch | None = None
        try:
            for piece in self._records(delivery.path, start, stop):
                first = records + 1
                records = piece.end
                quarantined += piece.rejected.num_rows
                if pending is not None:
                    yield pending
                cursor = {"files": list(done), "at": {**entry, "records": records, "quarantined": quarantined}}
                pending = ExtractBatch(piece.data, cursor, f"{entry['file']} records {first}-{records}", piece.rejected)
        except FileRejected as rejected:
            if pending is not None:  # only the header decides a rejection, before any record is read
                raise
            log.warning("source %s: %s rejected: %s", self.name, entry["file"], rejected.reason)
            entry.update(records=0, rejected=rejected.rule, reason=rejected.reason)
            yield ExtractBatch(self._empty(), {"files": [*done, entry]}, f"{entry['file']} (rejected)")
            return
        final_entry = {**entry, "records": records, "quarantined": quarantined}
        final = {"files": [*done, final_entry]}
        if stop is not None:
            final = {"files": list(done), "at": final_entry}
        if pending is None:
            pending = ExtractBatch(self._empty(), final, f"{entry['file']} (no records)")
        yield ExtractBatch(pending.data, final, pending.locator, pending.rejected)
        entry.update(records=records, quarantined=quarantined)

    def _empty(self) -> pa.Table:
        names = [*self.columns, FILE_COLUMN]
        return pa.table(
            {
                **{c: pa.array([], pa.string()) for c in names},
                RECORD_COLUMN: pa.array([], pa.int64()),
                LINE_COLUMN: pa.array([], pa.int64()),
            },
        )

    def _records(self, path: Path, start: int, stop: int | None) -> Iterator[Piece]:
        """Stream a file's records ``start`` (exclusive) to ``stop`` (inclusive), about ``batch_rows`` at a time."""
        gathered: list[Piece] = []
        rows = 0
        for piece in self._pieces(path, start, stop):
            gathered.append(piece)
            rows += piece.data.num_rows + piece.rejected.num_rows
            if rows >= self.batch_rows:
                yield _joined(gathered)
                gathered, rows = [], 0
        if gathered:
            yield _joined(gathered)

    def _pieces(self, path: Path, start: int, stop: int | None) -> Iterator[Piece]:
        """Records after ``start`` (up to ``stop``): the fast path while the bytes are clean, then the careful one."""
        encoding, header = self._header(path)
        emitted = start
        invalid_rows: list[int] = []

        def invalid(row: Any) -> str:
            invalid_rows.append(row.actual_columns)
            return "skip"

        with _ScreenedStream(path, encoding, self.block_size) as stream:
            try:
                reader = pacsv.open_csv(
                    stream,
                    read_options=pacsv.ReadOptions(block_size=self.block_size),
                    parse_options=pacsv.ParseOptions(newlines_in_values=True, invalid_row_handler=invalid),
                    convert_options=pacsv.ConvertOptions(
                        column_types={c: pa.string() for c in header}, strings_can_be_null=False
                    ),
                )
            except pa.ArrowInvalid:
                reader = None
            clean = reader is not None
            seen, line = 0, 2  # the header is line 1
            while clean:
                try:
                    batch = reader.read_next_batch()
                except StopIteration:
                    break
                except pa.ArrowInvalid:
                    clean = False
                    break
                if stream.dirt or invalid_rows:
                    clean = (
                        False  # this batch may hold dirt: the careful reader takes over from the last record yielded
                    )
                    break
                spans = 1 + _newlines(batch)
                lines = line + np.concatenate(([0], np.cumsum(spans)[:-1]))
                line += int(spans.sum())
                lo, hi = seen, seen + batch.num_rows
                seen = hi
                keep_from = max(emitted - lo, 0)
                keep_to = batch.num_rows if stop is None else min(max(stop - lo, 0), batch.num_rows)
                if keep_to > keep_from:
                    data = pa.Table.from_batches([batch.slice(keep_from, keep_to - keep_from)])
                    data = self._lineage(data, path.name, lo + keep_from, lines[keep_from:keep_to])
                    yield Piece(data, _no_rejects(), lo + keep_to)
                    emitted = lo + keep_to
                if stop is not None and hi >= stop:
                    return
            if clean and stream.finish() is None:
                return
            what = stream.dirt or ("a record with the wrong number of fields" if invalid_rows else "a parse error")
        log.info(
            "source %s: %s has %s; reading on record by record from record %d", self.name, path.name, what, emitted + 1
        )
        yield from self._careful(path, encoding, header, emitted, stop)

    def _lineage(self, data: pa.Table, file_name: str, offset: int, lines: np.ndarray) -> pa.Table:
        n = data.num_rows
        return (
            data.append_column(FILE_COLUMN, pa.array([file_name] * n, pa.string()))
            .append_column(RECORD_COLUMN, pa.array(np.arange(offset + 1, offset + n + 1, dtype=np.int64)))
            .append_column(LINE_COLUMN, pa.array(np.asarray(lines, dtype=np.int64)))
        )

    def _careful(self, path: Path, encoding: str, header: list[str], after: int, stop: int | None) -> Iterator[Piece]:
        """Records after number ``after`` (up to ``stop``) judged one by one: good ones as rows, the rest rejected.

        The bytes of each record are judged alone; the fields of the records that pass are parsed
        together, batch by batch (one CSV reader over them all, per record only if that fails).
        """
        codec = "utf-8" if encoding == "utf8" else encoding
        shown = "UTF-8" if encoding == "utf8" else "GBK"
        passed: list[tuple[int, int, bytes, str, bool]] = []  # number, first line, bytes, text, is the last
        rejects: list[dict[str, Any]] = []
        number = 0
        for first, record, last, unclosed in _physical_records(path):
            number += 1
            if number <= after:
                continue
            if stop is not None and number > stop:
                number -= 1
                break
            text, rule, message = _judge_bytes(record, codec, shown, last, unclosed)
            if text is None:
                rejects.append(_reject(path.name, number, first, record, codec, rule, message))
            else:
                passed.append((number, first, record, text, last))
            if len(passed) + len(rejects) >= self.batch_rows:
                yield self._careful_piece(header, path.name, codec, passed, rejects, number)
                passed, rejects = [], []
        if passed or rejects:
            yield self._careful_piece(header, path.name, codec, passed, rejects, number)

    def _careful_piece(
        self,
        header: list[str],
        file_name: str,
        codec: str,
        passed: list[tuple[int, int, bytes, str, bool]],
        rejects: list[dict[str, Any]],
        end: int,
    ) -> Piece:
        """Parse the fields of the records whose bytes passed; those without the header's width are rejected too."""
        width = len(header)
        rows: list[list[str]] = []
        numbers: list[int] = []
        lines: list[int] = []
        for (number, first, record, _, last), fields in zip(passed, _parse_all([p[3] for p in passed]), strict=True):
            rule, message = _judge_fields(fields, width, last)
            if rule:
                rejects.append(_reject(file_name, number, first, record, codec, rule, message))
            else:
                assert fields is not None
                rows.append(fields)
                numbers.append(number)
                lines.append(first)
        return Piece(self._careful_rows(header, file_name, rows, numbers, lines), _rejected(rejects), end)

    def _careful_rows(
        self, header: list[str], file_name: str, rows: list[list[str]], numbers: list[int], lines: list[int]
    ) -> pa.Table:
        columns = list(zip(*rows, strict=True)) if rows else [() for _ in header]
        data = pa.table({name: pa.array(values, pa.string()) for name, values in zip(header, columns, strict=True)})
        n = data.num_rows
        return (
            data.append_column(FILE_COLUMN, pa.array([file_name] * n, pa.string()))
            .append_column(RECORD_COLUMN, pa.array(numbers, pa.int64()))
            .append_column(LINE_COLUMN, pa.array(lines, pa.int64()))
        )

    def _header(self, path: Path) -> tuple[str, list[str]]:
        """The file's encoding and header names; rejects the file when it cannot be read at all."""
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
            raise FileRejected(
                "file.encoding", f"{path.name} line 1: the header is neither GBK nor UTF-8 [rule file.encoding]"
            ) from None
        missing = [c for c in self.columns if c not in header]
        if missing:
            raise FileRejected(
                "schema.missing_column",
                f"{path.name} line 1: declared column(s) {', '.join(missing)} missing from the header "
                "[rule schema.missing_column]",
            )
        body = head[len(head.split(b"\n", 1)[0]) + 1 :]
        sample = body.split(b"\n")[:-1] if len(head) == 64 << 10 else body.split(b"\n")
        sample = [s for s in sample if s.strip(b" \t\r")]
        failing = sum(not _decodes(s, "utf-8" if encoding == "utf8" else encoding) for s in sample)
        if sample and failing > ENCODING_REJECT_SHARE * len(sample):
            raise FileRejected(
                "file.encoding",
                f"{path.name}: {failing} of the first {len(sample)} lines are not valid "
                f"{'UTF-8' if encoding == 'utf8' else 'GBK'}: the file is unreadable throughout [rule file.encoding]",
            )
        return encoding, header


class _ScreenedStream(io.RawIOBase):
    """A data file's bytes transcoded to UTF-8 for Arrow's parser, noting the first sign of dirt on the way.

    Dirt is anything the fast path would load silently wrong or not at all: bytes that are not
    valid in the encoding, control bytes, a blank line. It is only noted (``dirt``), never
    reported from here: the careful reader then locates each bad record exactly.
    """

    def __init__(self, path: Path, encoding: str, chunk: int) -> None:
        super().__init__()
        self._file = open(path, "rb")  # closed with the stream
        self._decoder = codecs.getincrementaldecoder("utf-8-sig" if encoding == "utf8" else encoding)("strict")
        self._chunk = chunk
        self._out = bytearray()
        self._tail = b""  # the bytes after the last line feed seen, when they are blank
        self._eof = False
        self.dirt: str | None = None

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        while not self._eof and (size is None or size < 0 or len(self._out) < size):
            self._fill()
        n = len(self._out) if size is None or size < 0 else min(size, len(self._out))
        out = bytes(self._out[:n])
        del self._out[:n]
        return out

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def finish(self) -> str | None:
        """Read what the parser left (the end of the file) and return the dirt found in all of it."""
        while not self._eof:
            self._fill()
        return self.dirt

    def close(self) -> None:
        self._file.close()
        super().close()

    def _fill(self) -> None:
        raw = self._file.read(self._chunk)
        if not raw:
            self._eof = True
            if self._tail.strip(b" \t\r\n") == b"" and self._tail.strip(b"\n"):
                self._note("a blank last line")
            self._out += self._decode(b"", final=True).encode("utf-8")
            return
        if CONTROL_BYTES.search(raw):
            self._note("a control byte")
        if BLANK_LINE.search(self._tail + raw):
            self._note("a blank line")
        cut = raw.rfind(b"\n")
        rest = raw[cut:] if cut >= 0 else self._tail + raw
        self._tail = rest if not rest.strip(b" \t\r\n") else b""
        self._out += self._decode(raw).encode("utf-8")

    def _decode(self, raw: bytes, final: bool = False) -> str:
        try:
            return self._decoder.decode(raw, final)
        except UnicodeDecodeError:
            self._note("bytes not valid in its encoding")
            self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
            return raw.decode("utf-8", "replace")

    def _note(self, what: str) -> None:
        if self.dirt is None:
            self.dirt = what


def _physical_records(path: Path) -> Iterator[tuple[int, bytes, bool, bool]]:
    """A file's records after the header line: (first physical line, exact bytes, is the last, quote left open).

    A record runs over line ends while it has an odd number of double quotes (a quoted field goes
    on); a double quote byte never occurs inside a GBK, GB18030 or UTF-8 multi-byte character. A
    quote still open after :data:`MAX_RECORD_LINES` lines (or at the end of the file) is a stray
    one: its first line is the bad record, and the lines after it are read again as records, so
    one stray quote cannot swallow the rest of the file.
    """
    with open(path, "rb") as f:
        f.readline()
        source = enumerate(f, start=2)
        again: list[tuple[int, bytes]] = []  # lines to read again, last first
        parts: list[tuple[int, bytes]] = []
        quotes = 0
        previous: tuple[int, bytes] | None = None
        while True:
            item = again.pop() if again else next(source, None)
            ended = item is None
            if ended and len(parts) <= 1:
                break
            if not ended:
                parts.append(item)
                quotes += item[1].count(b'"')
                if quotes % 2 and len(parts) <= MAX_RECORD_LINES:
                    continue
            if previous is not None:
                yield previous[0], previous[1], False, False
            if quotes % 2:  # a stray quote: its line alone is the bad record, the lines after it are read again
                previous = None
                yield parts[0][0], parts[0][1], False, True
                again.extend(reversed(parts[1:]))
            else:
                previous = (parts[0][0], b"".join(p for _, p in parts))
            parts, quotes = [], 0
        if parts:
            if previous is not None:
                yield previous[0], previous[1], False, False
            yield parts[0][0], parts[0][1], True, True
        elif previous is not None:
            yield previous[0], previous[1], True, False


def _judge_bytes(record: bytes, codec: str, shown: str, last: bool, unclosed: bool) -> tuple[str | None, str, str]:
    """A record's text, or the rule its bytes break and a message naming no value."""
    body = record[:-1] if record.endswith(b"\n") else record
    body = body[:-1] if body.endswith(b"\r") else body
    if not body.strip(b" \t\r\n"):
        return None, "file.blank_line", "a blank line where a record belongs"
    if unclosed and last:
        return None, "file.truncated_line", "a quoted field is not closed before the end of the file: the line is cut"
    if unclosed:
        return None, "file.unclosed_quote", "a double quote opens a field that no later quote closes"
    try:
        text = body.decode(codec)
    except UnicodeDecodeError as err:
        return None, "file.encoding", f"byte {err.start + 1} of the record is not valid {shown}"
    control = CONTROL_BYTES.search(body)
    if control is not None:
        if control.group() == b"\x00":
            return None, "file.nul_byte", f"a NUL byte at byte {control.start() + 1} of the record"
        return None, "file.control_character", f"a control byte at byte {control.start() + 1} of the record"
    return text, "", ""


def _parse_all(texts: list[str]) -> list[list[str] | None]:
    """The fields of each record text: one CSV reader over all of them, or record by record if that fails."""
    try:
        rows = list(csv.reader(io.StringIO("".join(t + "\r\n" for t in texts), newline="")))
    except csv.Error:
        rows = []
    if len(rows) == len(texts):
        return rows
    return [_parse_one(t) for t in texts]


def _parse_one(text: str) -> list[str] | None:
    try:
        parsed = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error:
        return None
    return parsed[0] if len(parsed) == 1 else None


def _judge_fields(fields: list[str] | None, width: int, last: bool) -> tuple[str, str]:
    """The rule a record's fields break (empty when it has the header's width) and a message naming no value."""
    if fields is not None and len(fields) == width:
        return "", ""
    if fields is None:
        return "file.field_count", "the record does not parse as one CSV record"
    if last and len(fields) < width:
        return "file.truncated_line", f"the last line has {len(fields)} of {width} fields: it is cut short"
    return "file.field_count", f"{len(fields)} fields where the header has {width}"


def _reject(
    file_name: str, number: int, line: int, record: bytes, codec: str, rule: str, message: str
) -> dict[str, Any]:
    text = record.decode(codec, errors="replace").replace("\x00", "\ufffd")
    return {
        "record_ref": f"{file_name}:{number:09d}",
        "rule": rule,
        "field": None,
        "message": f"line {line}: {message}",
        "raw": json.dumps(
            {FILE_COLUMN: file_name, RECORD_COLUMN: number, LINE_COLUMN: line, "_text": text}, ensure_ascii=False
        ),
        "raw_bytes": record,
        "source_file": file_name,
        "source_line": line,
    }


def _rejected(rows: list[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=REJECTED_SCHEMA) if rows else _no_rejects()


def _no_rejects() -> pa.Table:
    return REJECTED_SCHEMA.empty_table()


def _joined(pieces: list[Piece]) -> Piece:
    if len(pieces) == 1:
        return pieces[0]
    data = [p.data for p in pieces if p.data.num_rows] or [pieces[0].data]
    return Piece(pa.concat_tables(data), pa.concat_tables([p.rejected for p in pieces]), pieces[-1].end)


def _newlines(batch: pa.RecordBatch) -> np.ndarray:
    """Line feeds inside each record's fields (a quoted line break makes a record span lines).

    Read off the string buffers with numpy: a column without any line feed (nearly all) costs one
    pass over its bytes.
    """
    n = batch.num_rows
    total = np.zeros(n, dtype=np.int64)
    for column in batch.columns:
        if not pa.types.is_string(column.type) or not n:
            continue
        offsets_buffer, values_buffer = column.buffers()[1], column.buffers()[2]
        if values_buffer is None:
            continue
        offsets = np.frombuffer(offsets_buffer, dtype=np.int32)[column.offset : column.offset + n + 1]
        found = np.flatnonzero(np.frombuffer(values_buffer, dtype=np.uint8)[offsets[0] : offsets[-1]] == 0x0A)
        if len(found):
            rows = np.searchsorted(offsets[1:] - offsets[0], found, side="right")
            total += np.bincount(rows, minlength=n)
    return total


def _split(line: bytes, encoding: str, strict: bool = False) -> list[str]:
    text = line.decode(encoding, errors="strict" if strict else "replace")
    return next(csv.reader([text]), [])


def _decodes(data: bytes, encoding: str) -> bool:
    try:
        data.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


def inbox_from_connection(conn_id: str) -> Path:
    """The inbox directory of an ``fs`` Airflow connection (its extra ``path``)."""
    conn = require_connection(conn_id, "the inbox directory as extra 'path'", fields=("extra.path",))
    return Path(os.path.expanduser(conn.extra_dejson["path"]))
