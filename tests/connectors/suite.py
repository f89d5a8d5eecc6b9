"""The standard test suite every connector passes (in the spirit of singer-sdk's).

A connector test module subclasses :class:`ConnectorSuite` and provides ``make_source`` (a
connector over a source holding known records) plus ``expected_keys``. The suite checks the
contract of :class:`connectors.base.Source`: Arrow batches, a monotone cursor, a resumable read
that neither skips nor repeats records, and a repeatable bounded window.

Cursors are compared through ``cursor_key``: by default the SQL connectors' (value, tiebreak)
pair; a connector with another cursor shape (e.g. a file drop's list of deliveries) overrides it.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from connectors.base import Source


class ConnectorSuite:
    key_column: str

    def make_source(self) -> Source:
        raise NotImplementedError

    def expected_keys(self) -> list[str]:
        raise NotImplementedError

    def cursor_key(self, cursor: dict[str, Any]) -> Any:
        """A sortable form of ``cursor`` in this connector's cursor order."""
        return (cursor["value"], cursor["tiebreak"])

    def _keys(self, batches) -> list[str]:
        return [k for b in batches for k in b.data[self.key_column].to_pylist()]

    def test_yields_arrow_batches_with_cursor_and_locator(self) -> None:
        batches = list(self.make_source().read(None))
        assert batches, "a source with records yields at least one batch"
        for b in batches:
            assert isinstance(b.data, pa.Table)
            assert b.cursor is not None
            assert b.locator

    def test_full_read_returns_every_record_once(self) -> None:
        keys = self._keys(self.make_source().read(None))
        assert sorted(keys) == sorted(self.expected_keys())
        assert len(keys) == len(set(keys))

    def test_cursor_is_monotone(self) -> None:
        cursors = [b.cursor for b in self.make_source().read(None)]
        keys = [self.cursor_key(c) for c in cursors]
        assert keys == sorted(keys)
        assert len(set(map(repr, keys))) == len(keys), "every batch moves the cursor on"

    def test_reading_on_from_the_final_cursor_yields_nothing(self) -> None:
        batches = list(self.make_source().read(None))
        again = list(self.make_source().read(batches[-1].cursor))
        assert sum(b.data.num_rows for b in again) == 0

    def test_resume_from_any_intermediate_cursor_neither_skips_nor_repeats(self) -> None:
        source = self.make_source()
        batches = list(source.read(None))
        final = batches[-1].cursor
        for cut in batches[:-1]:
            head = self._keys(source.read(None, until=cut.cursor))
            tail = self._keys(source.read(cut.cursor, until=final))
            assert sorted(head + tail) == sorted(self.expected_keys())
            assert not set(head) & set(tail)

    def test_bounded_window_is_repeatable(self) -> None:
        source = self.make_source()
        final = list(source.read(None))[-1].cursor
        first = sorted(self._keys(source.read(None, until=final)))
        second = sorted(self._keys(source.read(None, until=final)))
        assert first == second == sorted(self.expected_keys())

    def test_suite_fixture_has_several_batches(self) -> None:
        # the resume test is only meaningful when there are batch boundaries to resume from
        assert len(list(self.make_source().read(None))) >= 3
