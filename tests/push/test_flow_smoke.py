from __future__ import annotations

import psycopg

from connectors.provincial import ProvincialClient, settings_from_connection
from hub.push.cases import derive_cases
from hub.push.certificates import derive_certificates
from hub.push.outbox import outbox_counts, push
from hub.push.signer import signer_from_connection
from simulators.province import shared_rows


def test_smoke(store, platform) -> None:
    shared_rows.insert_entities(store, 30)
    shared_rows.insert_cards(store, 20)
    shared_rows.insert_cases(store, 40)
    c = derive_certificates(store, signer_from_connection(), "r1")
    assert c["new"] == 50
    assert derive_cases(store)["versions"] == 40
    client = ProvincialClient(settings_from_connection())
    report = push(store, client)
    print(report.to_json(), client.stats)
    assert outbox_counts(store)["certificates"]["delivered"] == 50
    assert outbox_counts(store)["cases"]["delivered"] == 40
    with psycopg.connect(platform.database_uri) as conn:
        assert conn.execute("SELECT count(*) FROM accepted").fetchone()[0] == 90
