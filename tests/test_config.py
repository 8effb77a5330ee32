"""leadkit.toml parsing and validation: every problem reported, never a secret."""

from __future__ import annotations

from pathlib import Path

import pytest

from leadkit.config import load_config, parse_config
from leadkit.errors import ConfigError

SECRET = "0123456789abcdef-very-secret"


def kpro(**over: object) -> dict[str, object]:
    body: dict[str, object] = {
        "kind": "kpro",
        "base_url": "http://127.0.0.1:9",
        "api_key": "${KPRO_KEY}",
    }
    body.update(over)
    return body


def test_two_kpro_accounts_side_by_side() -> None:
    cfg = parse_config(
        {"sources": {"london": kpro(), "north": kpro(api_key="${OTHER}")}},
        env={"KPRO_KEY": SECRET, "OTHER": "another-secret"},
    )
    assert sorted(cfg.sources) == ["london", "north"]
    assert set(cfg.secrets()) == {SECRET, "another-secret"}
    assert SECRET not in repr(cfg)


def test_defaults_and_relative_warehouse_path(tmp_path: Path) -> None:
    path = tmp_path / "leadkit.toml"
    path.write_text('[warehouse]\npath = "wh/x.duckdb"\n')
    cfg = load_config(path, env={})
    assert cfg.warehouse.path == tmp_path / "wh" / "x.duckdb"
    assert cfg.sources == {}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(
            kpro(page_size=5000),
            "sources.main.page_size: Input should be less than or equal to 1000 (got 5000)",
            id="page-size-over-max",
        ),
        pytest.param(
            kpro(pagesize=10),
            "sources.main.pagesize: unknown setting; allowed:",
            id="unknown-key-lists-allowed",
        ),
        pytest.param(
            kpro(kind="kporo"),
            "sources.main.kind: unknown kind 'kporo'; did you mean 'kpro'?",
            id="unknown-kind-suggests",
        ),
        pytest.param(
            kpro(base_url="ftp://x"),
            "sources.main.base_url: must start with http:// or https:// (got 'ftp://x')",
            id="bad-url",
        ),
        pytest.param(
            kpro(api_key="${MISSING_VAR}"),
            "sources.main.api_key: environment variable MISSING_VAR is not set",
            id="missing-env-var",
        ),
    ],
)
def test_bad_config_names_key_and_value(body: dict[str, object], expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config({"sources": {"main": body}}, path=Path("my.toml"), env={"KPRO_KEY": SECRET})
    text = str(info.value)
    assert "invalid configuration in my.toml" in text
    assert expected in text
    assert SECRET not in text


def test_an_unset_variable_is_one_problem_not_two(tmp_path: Path) -> None:
    """`leadkit init`, then `leadkit extract` before exporting the key: one clear line for it,
    not a second one saying the substituted empty value is empty."""
    path = tmp_path / "leadkit.toml"
    path.write_text(
        '[sources.main]\nkind = "kpro"\nbase_url = "http://127.0.0.1:9"\n'
        'api_key = "${KPRO_KEY_NOT_EXPORTED}"\n'
    )
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    keys = [p.key for p in info.value.problems]
    assert keys == ["sources.main.api_key"]
    assert "KPRO_KEY_NOT_EXPORTED is not set" in str(info.value)
    assert "Value error" not in str(info.value)


def test_every_problem_reported_at_once_and_no_secret_echoed() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(
            {
                "sources": {
                    "a": kpro(concurrency=0),
                    "b": kpro(api_key=12345678901234),
                    "1bad": kpro(),
                },
                "warehouse": {"hold_s": -1},
                "extra": {},
            },
            env={"KPRO_KEY": SECRET},
        )
    err = info.value
    keys = {p.key for p in err.problems}
    assert {
        "sources.a.concurrency",
        "sources.b.api_key",
        "sources.1bad",
        "warehouse.hold_s",
    } <= keys
    assert "extra" in keys
    assert "12345678901234" not in str(err)
    assert SECRET not in str(err)


def test_missing_file_says_how_to_create_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "nope.toml")
    assert "file not found" in str(info.value)
    assert "leadkit init" in str(info.value)


def test_toml_syntax_error_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("[sources.a\nkind = 'kpro'\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(path) in str(info.value)
    assert "not valid TOML" in str(info.value)


def test_config_path_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "elsewhere.toml"
    path.write_text("")
    monkeypatch.setenv("LEADKIT_CONFIG", str(path))
    assert load_config().path == path


def test_env_default_syntax() -> None:
    cfg = parse_config({"sources": {"a": kpro(api_key="${NOPE:-fallback-key}")}}, env={})
    assert cfg.secrets() == ["fallback-key"]


def test_a_whole_settings_problem_never_echoes_a_secret() -> None:
    """A model-level check (carehome's start/end) sees the whole table, key included."""
    secret = "k3y-" + "9" * 36
    with pytest.raises(ConfigError) as caught:
        parse_config(
            {
                "sources": {
                    "care": {
                        "kind": "carehome",
                        "api_key": "${CARE_KEY}",
                        "start": "2024-03-01",
                        "end": "2024-02-01",
                    }
                }
            },
            env={"CARE_KEY": secret},
        )
    text = str(caught.value)
    assert "sources.care" in text
    assert secret not in text
    assert "end" in text


def test_every_commented_example_in_the_init_template_is_valid() -> None:
    """`leadkit init`'s commented blocks, uncommented, are a valid config (docs stay true)."""
    import re
    import tomllib

    import leadkit

    text = (Path(leadkit.__file__).parent / "cli" / "leadkit.example.toml").read_text()
    lines = []
    for line in text.splitlines():
        m = re.match(r"^# ((\[[a-z_.]+\])|([a-z_]+ = .*))$", line)
        lines.append(m.group(1) if m else line)
    doc = tomllib.loads("\n".join(lines))
    names = re.findall(r"\$\{([A-Z0-9_]+)\}", text)
    cfg = parse_config(doc, env={n: "s" * 40 for n in names})
    assert {s.kind for s in cfg.sources.values()} == {"kpro", "ovipro", "carehome"}
    assert {d.kind for d in cfg.destinations.values()} == {"kpro", "ovipro", "dialler", "realgeeks"}


def test_writer_memory_below_what_a_checkpoint_needs_is_refused() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config({"warehouse": {"writer_memory_mb": 64}})
    assert "warehouse.writer_memory_mb" in str(caught.value)
    assert "128" in str(caught.value)


def test_parts_a_command_does_not_use_may_lack_their_secrets() -> None:
    """A scheduled extract has the sources' secrets, not every destination's."""
    data = {
        "sources": {"main": {"kind": "kpro", "base_url": "http://127.0.0.1:1", "api_key": "${K}"}},
        "destinations": {
            "calls": {
                "kind": "dialler",
                "base_url": "http://127.0.0.1:2",
                "api_key": "${DIALLER_KEY}",
                "lead_type": "motor-trade",
            }
        },
        "serve": {"api_key": "${SERVE_KEY}"},
    }
    env = {"K": "k" * 40}
    cfg = parse_config(data, env=env, needs=("warehouse", "sources"))
    assert list(cfg.sources) == ["main"]
    assert cfg.destinations == {}
    assert cfg.serve.api_key is None
    # Everything is needed by default, and a push needs its destination's secret.
    for needs in (None, ("warehouse", "destinations.calls")):
        with pytest.raises(ConfigError, match="DIALLER_KEY is not set"):
            parse_config(data, env=env, needs=needs)
    # Other problems are reported wherever they are.
    broken = {**data, "destinations": {"calls": {**data["destinations"]["calls"], "x": 1}}}
    with pytest.raises(ConfigError, match=r"destinations\.calls\.x"):
        parse_config(broken, env={**env, "DIALLER_KEY": "d" * 20}, needs=("sources",))
