"""Choosing the warehouse from libpq's variables, without starting any database."""

import pytest

from loader import warehouse


def test_external_warehouse_is_used_when_pghost_is_set():
    env = {"PGHOST": "db.example", "PGUSER": "elt", "PGPASSWORD": "pw", "PGDATABASE": "books"}
    assert not warehouse.is_embedded(env)
    assert warehouse.connection_env(env) == {**env, "PGPORT": "5432"}


def test_external_warehouse_without_user_names_the_missing_variable():
    with pytest.raises(warehouse.WarehouseError, match="PGUSER"):
        warehouse.connection_env({"PGHOST": "db.example", "PGDATABASE": "books"})


def test_embedded_warehouse_is_chosen_when_pghost_is_empty():
    assert warehouse.is_embedded({"PGHOST": ""})
    assert warehouse.is_embedded({})


def test_dlt_credentials_keep_a_socket_directory_as_host():
    pg = {
        "PGHOST": "/work/main/.local/pgdata",
        "PGPORT": "5432",
        "PGUSER": "postgres",
        "PGPASSWORD": "p@ss/word",
        "PGDATABASE": "zoho",
    }
    dsn = warehouse.dlt_credentials(pg)
    assert dsn == (
        "postgresql://postgres:p%40ss%2Fword@localhost:5432/zoho?host=%2Fwork%2Fmain%2F.local%2Fpgdata"
    )


def test_unknown_subcommand_exits_2(capsys):
    assert warehouse.main(["bogus"]) == 2
    assert "unknown command 'bogus'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("memory_gb", "shared_buffers"),
    [(0.25, "128MB"), (2, "512MB"), (4, "1024MB"), (24, "2048MB")],
)
def test_embedded_page_cache_is_a_quarter_of_memory_within_postgres_default_and_2gb(
    memory_gb, shared_buffers
):
    settings = warehouse.embedded_settings(int(memory_gb * 2**30))
    assert settings == {"shared_buffers": shared_buffers, "max_wal_size": "4GB"}


def test_pgserver_still_exports_pg_ctl_at_its_top_level():
    # loader.warehouse stops and restarts the embedded server with it (pgserver 0.1.4)
    import pgserver

    assert callable(pgserver.pg_ctl)
