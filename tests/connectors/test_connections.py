"""One lookup error for a missing Airflow connection, whichever part of the hub needs it."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from connectors import connections, file_drop
from connectors.connections import ConnectionNotDefinedError, require_connection
from connectors.settings import RestPaged
from hub.push import provincial_client as provincial
from hub.push import signer

LOOKUPS: dict[str, Callable[[str], object]] = {
    "postgres_uri": connections.postgres_uri,
    "rest_paged": lambda conn_id: RestPaged("/p", "t", "id", "k").build("toy", conn_id, ("id",)),
    "file_drop_inbox": file_drop.inbox_from_connection,
    "provincial_client": provincial.settings_from_connection,
    "certificate_signer": signer.signer_from_connection,
}


@pytest.mark.parametrize("lookup", LOOKUPS.values(), ids=LOOKUPS.keys())
def test_every_lookup_names_the_connection_and_how_to_define_it(lookup: Callable[[str], object]) -> None:
    with pytest.raises(ConnectionNotDefinedError) as caught:
        lookup("toy_missing")
    message = str(caught.value)
    assert caught.value.conn_id == "toy_missing"
    assert "'toy_missing'" in message and "is not defined" in message
    assert "AIRFLOW_CONN_TOY_MISSING" in message
    assert "`airflow connections add toy_missing`" in message


def test_a_defined_connection_missing_a_field_names_the_field(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_TOY_PLATFORM", json.dumps({"conn_type": "http", "host": "127.0.0.1"}))
    with pytest.raises(ConnectionNotDefinedError, match=r"'toy_platform' \(.*app secret\) has no login, password"):
        provincial.settings_from_connection("toy_platform")
    monkeypatch.setenv("AIRFLOW_CONN_TOY_INBOX", json.dumps({"conn_type": "fs"}))
    with pytest.raises(ConnectionNotDefinedError, match=r"has no extra\.path: set AIRFLOW_CONN_TOY_INBOX"):
        file_drop.inbox_from_connection("toy_inbox")


def test_a_complete_connection_is_returned(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_TOY_INBOX", json.dumps({"conn_type": "fs", "extra": {"path": str(tmp_path)}}))
    assert require_connection("toy_inbox", fields=("extra.path",)).conn_type == "fs"
    assert file_drop.inbox_from_connection("toy_inbox") == tmp_path
