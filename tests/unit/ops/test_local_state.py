"""Local state is owner-only: other users of the machine cannot read raw business data,
tokens or logs (issue 14, item 6)."""

from __future__ import annotations

import os
import stat

import pytest

from loader.ops import local_dir as local_state


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def local(tmp_path, monkeypatch):
    old = os.umask(0o022)
    monkeypatch.setattr(local_state, "LOCAL_DIR", tmp_path / ".local")
    monkeypatch.delenv("DLT_PIPELINES_DIR", raising=False)
    monkeypatch.delenv("SOURCES__ZOHO_BOOKS__TOKEN_CACHE_PATH", raising=False)
    yield tmp_path / ".local"
    os.umask(old)


def test_what_an_older_version_left_readable_is_closed_and_new_files_are_owner_only(local):
    (local / "dlt" / "pipelines").mkdir(parents=True, mode=0o755)
    local.chmod(0o755)
    token = local / "zoho_token.json"
    token.write_text("{}")
    token.chmod(0o644)

    local_state.secure()
    created = local / "dlt" / "pipelines" / "state.json"
    created.write_text("{}")
    (local / "job").mkdir()

    assert mode(local) == local_state.local_dir_mode()
    assert not mode(local) & 0o066  # no one else can list or write it
    assert mode(local / "dlt") == 0o700
    assert mode(token) == 0o600
    assert mode(created) == 0o600
    assert mode(local / "job") == 0o700


def test_a_fresh_checkout_gets_its_local_dir_created(local):
    local_state.secure()

    assert local.is_dir() and not mode(local) & 0o066
