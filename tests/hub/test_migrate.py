from __future__ import annotations

import dataclasses

import psycopg
import pytest

from hub.store import migrate as migrate_module
from hub.store.migrate import MigrationError, migrate, sync_table
from schemas.model import DataType, Field
from schemas.tables.population import POPULATION
from tests.conftest import fresh_database


def test_migrate_is_idempotent_and_records_versions() -> None:
    uri = fresh_database("mig")
    applied = migrate(uri)
    assert "0001_foundation" in applied
    assert "sync shared.population" in applied
    assert migrate(uri) == []
    with psycopg.connect(uri) as conn:
        versions = [r[0] for r in conn.execute("SELECT version FROM hub.schema_migrations")]
        assert versions == [name for name, _ in migrate_module.migration_files()]
        checks = conn.execute(
            "SELECT count(*) FROM information_schema.check_constraints WHERE constraint_schema = 'shared'"
        ).fetchone()[0]
        assert checks >= 3  # gender, ethnicity and status code tables are enforced by the store


def test_adding_a_declared_column_keeps_existing_rows() -> None:
    uri = fresh_database("mig")
    migrate(uri)
    with psycopg.connect(uri) as conn:
        conn.execute(
            "INSERT INTO shared.population (id_number, name, gender, birth_date, region_code, status, "
            "source_updated_at, source_system, batch_id, loaded_at, record_hash) VALUES "
            "('11010519491231002X', 'x', '2', '1949-12-31', '110105', 'NORMAL', now(), 's', 'b', now(), 'h')"
        )
    extended = dataclasses.replace(POPULATION, fields=(*POPULATION.fields, Field("nationality", DataType.TEXT, "国籍")))
    with psycopg.connect(uri, autocommit=True) as conn:
        assert sync_table(conn, extended)
        assert conn.execute("SELECT count(*), count(nationality) FROM shared.population").fetchone() == (1, 0)


def test_a_changed_column_type_needs_a_written_migration() -> None:
    uri = fresh_database("mig")
    migrate(uri)
    fields = tuple(
        dataclasses.replace(f, type=DataType.TEXT) if f.name == "birth_date" else f for f in POPULATION.fields
    )
    changed = dataclasses.replace(POPULATION, fields=fields)
    with psycopg.connect(uri, autocommit=True) as conn, pytest.raises(MigrationError, match="birth_date"):
        sync_table(conn, changed)


def test_an_edited_applied_migration_is_refused(monkeypatch) -> None:
    uri = fresh_database("mig")
    migrate(uri)
    files = migrate_module.migration_files()
    monkeypatch.setattr(migrate_module, "migration_files", lambda: [(files[0][0], files[0][1] + "\n-- edited")])
    with pytest.raises(MigrationError, match="changed after it was applied"):
        migrate(uri)
