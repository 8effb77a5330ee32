"""``leadkit.toml``: reading, ``${ENV}`` substitution and validation.

The file is found from ``--config``, else ``$LEADKIT_CONFIG``, else ``./leadkit.toml``.
Relative paths inside it (the warehouse path) are relative to the file's own directory.

Shape::

    [warehouse]
    path = "data/leadkit.duckdb"

    [sources.kpro_main]          # the name is yours; any number of sources
    kind = "kpro"                # picks the system from leadkit.systems
    base_url = "https://..."
    api_key = "${KPRO_API_KEY}"  # secrets come from the environment

Each ``kind`` has its own settings model (``leadkit.systems.<kind>``); keys not in it are
errors, so a typo does not silently fall back to a default. Every problem in the file is
reported at once, with the file, the dotted key, the offending value (never a secret) and
what is allowed.
"""

from __future__ import annotations

import logging
import os
import re
import tomllib
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from leadkit.errors import ConfigError, ConfigProblem, short_repr
from leadkit.redact import is_secret_name

__all__ = [
    "DEFAULT_CONFIG_NAME",
    "DestinationSettings",
    "LeadkitConfig",
    "ServeSettings",
    "SourceSettings",
    "WarehouseSettings",
    "find_config_path",
    "load_config",
    "load_warehouse_settings",
    "parse_config",
]

log = logging.getLogger("leadkit.config")

DEFAULT_CONFIG_NAME = "leadkit.toml"
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]{0,62}$")
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WarehouseSettings(_Strict):
    """``[warehouse]``: where the DuckDB file lives and how processes share it."""

    path: Path = Field(default=Path("data/leadkit.duckdb"), description="DuckDB file")
    busy_timeout_s: float = Field(
        default=60.0,
        gt=0,
        description="how long a reader or writer waits for another process to release the file",
    )
    hold_s: float = Field(
        default=0.5,
        gt=0,
        le=60,
        description="longest time an extract holds the file before letting readers in",
    )
    on_locked: Literal["exit", "wait"] = Field(
        default="exit",
        description="what a second `leadkit extract` does while another one runs",
    )
    lock_wait_s: float = Field(
        default=3600.0, gt=0, description="with on_locked = 'wait': give up after this long"
    )
    writer_memory_mb: int = Field(
        default=256,
        # Below 128 MB DuckDB cannot pin the blocks a checkpoint of wide lead rows needs.
        ge=128,
        le=65536,
        description="memory DuckDB may use while an extract writes (it spills beyond that)",
    )
    locked_exit_code: int = Field(
        default=75,
        ge=0,
        le=255,
        description="exit code of a `leadkit extract` that found another one running",
    )


class SourceSettings(_Strict):
    """Settings every source has; each system's model extends this."""

    kind: str
    enabled: bool = True
    page_size: int = Field(default=100, ge=1)
    concurrency: int = Field(default=8, ge=1, le=64, description="requests in flight")
    timeout_s: float = Field(default=30.0, gt=0, le=600, description="per request")
    max_retries: int = Field(default=5, ge=0, le=20, description="retries of one request")


class DestinationSettings(_Strict):
    """Settings every destination (``[destinations.NAME]``) has; each kind's model extends
    this (see ``leadkit.push.base``). Secrets are ``SecretStr`` fields set with ``${VAR}``."""

    kind: str
    enabled: bool = True
    concurrency: int = Field(default=4, ge=1, le=64, description="requests in flight")
    timeout_s: float = Field(default=30.0, gt=0, le=600, description="per request")
    max_retries: int = Field(default=5, ge=0, le=20, description="retries of one request")


class ServeSettings(_Strict):
    """``[serve]``: the read-only HTTP query server."""

    host: str = "127.0.0.1"
    port: int = Field(default=8765, ge=0, le=65535)
    api_key: SecretStr | None = None
    #: Rows kept in memory between requests, in MB of Arrow data (0: none).
    row_cache_mb: int = Field(default=256, ge=0, le=1 << 16)
    #: Sort orders of results clients page through, in MB (4 bytes a row; 0: none).
    order_cache_mb: int = Field(default=64, ge=0, le=1 << 16)


class LeadkitConfig(BaseModel):
    """The whole validated configuration.

    Attributes:
        path: the file it came from, or ``None``.
        warehouse: warehouse settings (paths already resolved against the file's directory).
        sources: source name → the system's settings model.
        destinations: destination name → settings.
    """

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    path: Path | None = None
    warehouse: WarehouseSettings = WarehouseSettings()
    sources: dict[str, SourceSettings] = Field(default_factory=dict)
    destinations: dict[str, DestinationSettings] = Field(default_factory=dict)
    serve: ServeSettings = ServeSettings()

    def secrets(self) -> list[str]:
        """Every secret value in this configuration (for the redactor)."""
        out: list[str] = []
        models: list[BaseModel] = [*self.sources.values(), *self.destinations.values()]
        models.append(self.serve)
        for model in models:
            values = dict(model)
            if model.model_extra:
                values.update(model.model_extra)
            for name, value in values.items():
                if isinstance(value, SecretStr):
                    out.append(value.get_secret_value())
                elif isinstance(value, str) and is_secret_name(name):
                    out.append(value)
        return [s for s in out if s]


def find_config_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The config file to use: ``explicit``, else ``$LEADKIT_CONFIG``, else ``leadkit.toml``."""
    if explicit:
        return Path(explicit)
    env = os.environ.get("LEADKIT_CONFIG")
    if env:
        return Path(env)
    return Path(DEFAULT_CONFIG_NAME)


def load_config(
    path: str | os.PathLike[str] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    needs: Collection[str] | None = None,
) -> LeadkitConfig:
    """Read, substitute and validate a ``leadkit.toml``.

    Args:
        path: the file; default from :func:`find_config_path`.
        env: environment for ``${VAR}`` substitution (default ``os.environ``).
        needs: the parts the caller uses (see :func:`parse_config`); default all.

    Raises:
        ConfigError: the file is missing, is not TOML, or has invalid settings.
    """
    cfg_path = find_config_path(path)
    shown = str(cfg_path)
    if not cfg_path.exists():
        raise ConfigError(
            shown,
            [ConfigProblem("(file)", "file not found")],
            hint="Create one with `leadkit init`, or pass --config / set LEADKIT_CONFIG.",
        )
    try:
        text = cfg_path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(shown, [ConfigProblem("(file)", f"cannot read: {exc}")]) from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            shown,
            [ConfigProblem("(file)", f"not valid TOML: {exc}")],
            hint="See `leadkit init` for a commented example.",
        ) from exc
    return parse_config(data, path=cfg_path, env=env, needs=needs)


def load_warehouse_settings(path: str | os.PathLike[str] | None = None) -> WarehouseSettings:
    """Read only ``[warehouse]`` (no secrets needed): for readers such as ``leadkit runs``.

    With no file at all, the defaults apply (``data/leadkit.duckdb`` under the current
    directory).
    """
    cfg_path = find_config_path(path)
    if not cfg_path.exists():
        if path is not None or os.environ.get("LEADKIT_CONFIG"):
            raise ConfigError(
                str(cfg_path),
                [ConfigProblem("(file)", "file not found")],
                hint="Create one with `leadkit init`, or pass --config / set LEADKIT_CONFIG.",
            )
        return WarehouseSettings()
    try:
        data = tomllib.loads(cfg_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(str(cfg_path), [ConfigProblem("(file)", f"cannot read: {exc}")]) from exc
    problems: list[ConfigProblem] = []
    body = _substitute(data.get("warehouse", {}), os.environ, problems, prefix="warehouse")
    settings = _validate(WarehouseSettings, body, "warehouse", problems)
    if problems or settings is None:
        raise ConfigError(str(cfg_path), problems)
    if not settings.path.is_absolute():
        settings = settings.model_copy(update={"path": cfg_path.parent / settings.path})
    return settings  # type: ignore[no-any-return]


def parse_config(
    data: Mapping[str, Any],
    *,
    path: Path | None = None,
    env: Mapping[str, str] | None = None,
    needs: Collection[str] | None = None,
) -> LeadkitConfig:
    """Validate an already-parsed configuration mapping (the contents of ``leadkit.toml``).

    ``needs`` names the parts the caller uses — ``"warehouse"``, ``"serve"``,
    ``"sources"`` / ``"destinations"`` (all of them) or ``"destinations.NAME"`` (one). A part
    outside it whose ``${VAR}`` is not set is left out instead of failing the whole file, so
    a scheduled ``leadkit extract`` needs only the sources' secrets. Every other problem is
    reported wherever it is. Default: everything is needed.

    Example:
        >>> cfg = parse_config({"sources": {"main": {"kind": "kpro",
        ...     "base_url": "http://127.0.0.1:1", "api_key": "${K}"}}}, env={"K": "secret"})
        >>> cfg.sources["main"].kind
        'kpro'
    """
    from leadkit.systems import get_system, known_kinds

    environ = os.environ if env is None else env
    problems: list[ConfigProblem] = []
    shown = str(path) if path else None
    base_dir = path.parent if path else Path.cwd()

    allowed_top = {"warehouse", "sources", "destinations", "serve"}
    for key in data:
        if key not in allowed_top:
            problems.append(
                ConfigProblem(key, f"unknown section; allowed: {', '.join(sorted(allowed_top))}")
            )

    subst = _substitute(data, environ, problems, prefix="")
    assert isinstance(subst, dict)
    skipped = _unneeded_unset(problems, needs)

    warehouse = _validate(WarehouseSettings, subst.get("warehouse", {}), "warehouse", problems)
    if warehouse is not None and not warehouse.path.is_absolute():
        warehouse = warehouse.model_copy(update={"path": base_dir / warehouse.path})
    serve_body = {} if "serve" in skipped else subst.get("serve", {})
    serve = _validate(ServeSettings, serve_body, "serve", problems)

    sources: dict[str, SourceSettings] = {}
    raw_sources = subst.get("sources", {})
    if not isinstance(raw_sources, dict):
        problems.append(ConfigProblem("sources", "must be a table of named sources"))
        raw_sources = {}
    for name, body in raw_sources.items():
        key = f"sources.{name}"
        if key in skipped:
            continue
        if not _NAME.match(name):
            problems.append(
                ConfigProblem(
                    key, "source names start with a letter and use letters, digits, _ and -"
                )
            )
            continue
        if not isinstance(body, dict):
            problems.append(ConfigProblem(key, "must be a table with at least `kind`"))
            continue
        kind = body.get("kind")
        if not isinstance(kind, str):
            problems.append(
                ConfigProblem(
                    f"{key}.kind", f"missing; allowed: {', '.join(known_kinds('source'))}"
                )
            )
            continue
        try:
            system = get_system(kind, role="source")
        except LookupError as exc:
            problems.append(ConfigProblem(f"{key}.kind", str(exc), short_repr(kind)))
            continue
        assert system.settings is not None
        model = _validate(system.settings, body, key, problems)
        if model is not None:
            _warn_plain_secrets(data.get("sources", {}).get(name, {}), key)
            sources[name] = model

    destinations: dict[str, DestinationSettings] = {}
    raw_dest = subst.get("destinations", {})
    if isinstance(raw_dest, dict):
        for name, body in raw_dest.items():
            key = f"destinations.{name}"
            if key in skipped:
                continue
            if not _NAME.match(name):
                problems.append(
                    ConfigProblem(
                        key,
                        "destination names start with a letter and use letters, digits, _ and -",
                    )
                )
                continue
            if not isinstance(body, dict):
                problems.append(ConfigProblem(key, "must be a table with at least `kind`"))
                continue
            kind = body.get("kind")
            allowed = ", ".join(known_kinds("destination"))
            if not isinstance(kind, str):
                problems.append(ConfigProblem(f"{key}.kind", f"missing; allowed: {allowed}"))
                continue
            try:
                dsystem = get_system(kind, role="destination")
            except LookupError as exc:
                problems.append(ConfigProblem(f"{key}.kind", str(exc), short_repr(kind)))
                continue
            assert dsystem.destination_settings is not None
            dest = _validate(dsystem.destination_settings, body, key, problems)
            if dest is not None:
                _warn_plain_secrets(data.get("destinations", {}).get(name, {}), key)
                destinations[name] = dest
    else:
        problems.append(ConfigProblem("destinations", "must be a table of named destinations"))

    if problems:
        raise ConfigError(shown, problems, hint="See `leadkit init` for a commented example.")
    assert warehouse is not None
    assert serve is not None
    return LeadkitConfig(
        path=path,
        warehouse=warehouse,
        sources=sources,
        destinations=destinations,
        serve=serve,
    )


def _section(key: str) -> str:
    """The part of the file a setting belongs to: ``serve``, ``sources.NAME`` …"""
    parts = key.split(".")
    return ".".join(parts[:2]) if parts[0] in ("sources", "destinations") else parts[0]


def _unneeded_unset(problems: list[ConfigProblem], needs: Collection[str] | None) -> set[str]:
    """Drop unset-variable problems of parts outside ``needs``; return those parts."""
    if needs is None:
        return set()

    def needed(section: str) -> bool:
        return any(section == n or section.startswith(n + ".") for n in needs)

    skipped: set[str] = set()
    kept: list[ConfigProblem] = []
    for problem in problems:
        section = _section(problem.key)
        if problem.message.startswith("environment variable") and not needed(section):
            skipped.add(section)
        else:
            kept.append(problem)
    problems[:] = kept
    return skipped


def _substitute(
    value: Any, env: Mapping[str, str], problems: list[ConfigProblem], prefix: str
) -> Any:
    """Replace ``${VAR}`` / ``${VAR:-default}`` in every string, recording missing variables."""
    if isinstance(value, dict):
        return {
            k: _substitute(v, env, problems, f"{prefix}.{k}" if prefix else k)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_substitute(v, env, problems, f"{prefix}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, str):

        def repl(m: re.Match[str]) -> str:
            var, default = m.group(1), m.group(2)
            if var in env:
                return env[var]
            if default is not None:
                return default
            problems.append(
                ConfigProblem(
                    prefix,
                    f"environment variable {var} is not set; export it or remove the reference",
                )
            )
            return ""

        return _ENV_REF.sub(repl, value)
    return value


def _validate(
    model: type[BaseModel], body: Any, key: str, problems: list[ConfigProblem]
) -> Any | None:
    """Validate ``body`` against ``model``; translate errors into problems without secrets."""
    if not isinstance(body, dict):
        problems.append(ConfigProblem(key, "must be a table"))
        return None
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        # Values of secret-named settings never appear in a problem, even when a whole-model
        # validator's message or input would carry them.
        secrets = [
            str(v) for k, v in body.items() if is_secret_name(str(k)) and str(v) not in ("", "None")
        ]

        def scrub(text: str) -> str:
            for secret in secrets:
                text = text.replace(secret, "***")
            return text

        # A setting whose ${VAR} is unset already has its problem; its emptiness is no second one.
        known = {p.key for p in problems}
        for err in exc.errors(include_url=False):
            loc = ".".join(str(p) for p in err["loc"])
            full = f"{key}.{loc}" if loc else key
            if full in known:
                continue
            msg = scrub(_describe(err, model))
            value: str | None = None
            leaf = str(err["loc"][-1]) if err["loc"] else ""
            raw = err.get("input")
            if (
                err["type"] not in {"missing", "extra_forbidden"}
                and not is_secret_name(leaf)
                and not isinstance(raw, dict | list)
            ):
                value = scrub(short_repr(raw))
            problems.append(ConfigProblem(full, msg, value))
        return None


def _describe(err: Any, model: type[BaseModel]) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        allowed = ", ".join(sorted(model.model_fields))
        return f"unknown setting; allowed: {allowed}"
    if kind == "missing":
        return "required setting is missing"
    # A validator's own message, without pydantic's "Value error, " in front.
    return str(err["msg"]).removeprefix("Value error, ")


def _warn_plain_secrets(raw: Any, key: str) -> None:
    if not isinstance(raw, dict):
        return
    for name, value in raw.items():
        if is_secret_name(name) and isinstance(value, str) and value and "${" not in value:
            log.warning(
                '%s.%s holds a literal secret; prefer "${ENV_VAR}" so the file can be shared',
                key,
                name,
            )
