"""The sandbox catalogue: every system's simulator, how to start it, and its config block.

``leadkit sandbox`` and ``leadkit demo`` both start simulators from here, so a new system
only has to add one :class:`SandboxSpec` to :data:`SANDBOXES`. Each spec knows how to
build its simulator from common :class:`SandboxOptions` (size, seed, latency, faults) and
how to write the ``leadkit.toml`` block that points leadkit at it. Credentials in those
blocks are the simulators' public demo values, written as ``${VAR:-default}`` so a real
deployment's habit (secrets from the environment) is what the newcomer sees first.

Example:
    >>> [s.system for s in SANDBOXES]
    ['kpro', 'ovipro', 'carehome', 'dialler', 'realgeeks']
    >>> spec("kpro").role
    'source'
"""

from __future__ import annotations

import contextlib
import difflib
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Literal

from leadkit.sandbox import SandboxThread

__all__ = [
    "SANDBOXES",
    "RunningSandbox",
    "SandboxOptions",
    "SandboxSpec",
    "config_text",
    "spec",
    "start_sandboxes",
]


@dataclass(frozen=True)
class SandboxOptions:
    """What every simulator can be asked for.

    Attributes:
        leads: leads in a pull system's dataset (receivers start empty).
        seed: dataset seed (same seed, same data).
        latency_s: delay added to every response.
        fault_rate: share of requests answered with an injected fault (0..1).
        port: port on 127.0.0.1 (0 = any free port).
    """

    leads: int = 5000
    seed: int = 0
    latency_s: float = 0.0
    fault_rate: float = 0.0
    port: int = 0


@dataclass(frozen=True)
class SandboxSpec:
    """One system's simulator.

    Attributes:
        system: the ``kind`` in leadkit.toml.
        role: ``source`` (leadkit pulls from it) or ``destination`` (leadkit pushes to it).
        title: human name.
        build: makes the simulator (an async context manager) from options.
        toml: the ``leadkit.toml`` block for a configured name and the running simulator.
        endpoint: what to print as the simulator's address.
        login: the public demo credentials to print (``name=value`` text).
    """

    system: str
    role: Literal["source", "destination"]
    title: str
    build: Callable[[SandboxOptions], AbstractAsyncContextManager[Any]]
    toml: Callable[[str, Any], str]
    endpoint: Callable[[Any], str]
    login: Callable[[Any], str]


def _kpro(o: SandboxOptions) -> AbstractAsyncContextManager[Any]:
    from leadkit.systems.kpro.simulator import KProSandbox, KProSandboxConfig

    cfg = KProSandboxConfig(
        leads=o.leads, seed=o.seed, latency_s=o.latency_s, fault_rate=o.fault_rate
    )
    return KProSandbox(cfg, port=o.port)


def _kpro_toml(name: str, sb: Any) -> str:
    env = f"LEADKIT_{name.upper()}_KEY"
    return (
        f"[sources.{name}]\n"
        'kind = "kpro"\n'
        f'base_url = "{sb.base_url}"\n'
        f'api_key = "${{{env}:-{sb.api_key}}}"\n'
        "page_size = 500\n"
        "concurrency = 8\n"
        "\n"
        "# The same account's import side: `leadkit push "
        f"{name}_import --where ...` (externalRef dedupe).\n"
        f"[destinations.{name}_import]\n"
        'kind = "kpro"\n'
        f'base_url = "{sb.base_url}"\n'
        f'api_key = "${{{env}:-{sb.api_key}}}"\n'
        "batch_size = 100\n"
    )


def _ovipro(o: SandboxOptions) -> AbstractAsyncContextManager[Any]:
    from leadkit.systems.ovipro.sandbox import OviProSandbox, OviProSandboxConfig

    cfg = OviProSandboxConfig(
        leads=max(1, o.leads // 2),
        outgoing_leads=max(1, o.leads // 20),
        seed=o.seed + 3,
        latency_s=o.latency_s,
        fault_rate=o.fault_rate,
    )
    return OviProSandbox(cfg, port=o.port)


def _ovipro_toml(name: str, sb: Any) -> str:
    env = f"LEADKIT_{name.upper()}"
    account = (
        'kind = "ovipro"\n'
        f'base_url = "{sb.base_url}"\n'
        f'auth_url = "{sb.auth_url}"\n'
        f'username = "${{{env}_USERNAME:-{sb.username}}}"\n'
        f'password = "${{{env}_PASSWORD:-{sb.password}}}"\n'
    )
    return (
        f"[sources.{name}]\n{account}"
        "page_size = 100\n"
        "concurrency = 8\n"
        "\n"
        f"# The same account's lead creation: `leadkit push {name}_create --where ...`.\n"
        f"[destinations.{name}_create]\n{account}"
        f'agency_office_id = "{sb.office_ids[0]}"\n'
        'phone_region = "GB"  # national numbers in the warehouse are British\n'
        "\n"
        "# Handle the leads OviPro sent us: `leadkit push "
        f'{name}_status --table ovipro_leads --where "leadStatusCode=NEW"`.\n'
        f"[destinations.{name}_status]\n{account}"
        'endpoint = "status"\n'
        'status_code = "IN_PROGRESS"\n'
        "\n"
        "# Send OviPro's leads on to a partner: `leadkit push "
        f"{name}_outgoing --table ovipro_leads --where ...`.\n"
        f"[destinations.{name}_outgoing]\n{account}"
        'endpoint = "outgoing"\n'
        'subject = "Asiakas tarvitsee rahoitusta"\n'
        f'agency_office_id = "{sb.office_ids[0]}"  # the sending office\n'
    )


def _carehome(o: SandboxOptions) -> AbstractAsyncContextManager[Any]:
    from leadkit.systems.carehome.sandbox import CarehomeSandbox, CarehomeSandboxConfig

    cfg = CarehomeSandboxConfig(
        leads=max(1, o.leads // 2),
        seed=o.seed + 5,
        days=60,
        latency_s=o.latency_s,
        fault_rate=o.fault_rate,
    )
    return CarehomeSandbox(cfg, port=o.port)


def _carehome_toml(name: str, sb: Any) -> str:
    env = f"LEADKIT_{name.upper()}_KEY"
    return (
        f"[sources.{name}]\n"
        'kind = "carehome"\n'
        f'base_url = "{sb.base_url}"\n'
        f'api_key = "${{{env}:-{sb.api_key}}}"\n'
        f"# The sandbox's leads span {sb.config.days} days from here; a first run starts "
        "here.\n"
        f'start = "{sb.config.first_day.date().isoformat()}"\n'
        'window = "1d"\n'
        "concurrency = 8\n"
    )


def _dialler(o: SandboxOptions) -> AbstractAsyncContextManager[Any]:
    from leadkit.systems.dialler.sandbox import DiallerSandbox, DiallerSandboxConfig

    cfg = DiallerSandboxConfig(seed=o.seed, latency_s=o.latency_s, fault_rate=o.fault_rate)
    return DiallerSandbox(cfg, port=o.port)


def _dialler_toml(name: str, sb: Any) -> str:
    env = f"LEADKIT_{name.upper()}_KEY"
    return (
        f"[destinations.{name}]\n"
        'kind = "dialler"\n'
        f'base_url = "{sb.base_url}"\n'
        f'api_key = "${{{env}:-{sb.api_key}}}"\n'
        f'lead_type = "{sb.lead_types[0]}"\n'
        "delays_s = 600  # call ten minutes after the lead arrives\n"
    )


def _realgeeks(o: SandboxOptions) -> AbstractAsyncContextManager[Any]:
    from leadkit.systems.realgeeks.sandbox import RealGeeksSandbox, RealGeeksSandboxConfig

    cfg = RealGeeksSandboxConfig(seed=o.seed, latency_s=o.latency_s, fault_rate=o.fault_rate)
    return RealGeeksSandbox(cfg, port=o.port)


def _realgeeks_toml(name: str, sb: Any) -> str:
    env = f"LEADKIT_{name.upper()}_PASSWORD"
    account = (
        'kind = "realgeeks"\n'
        f'base_url = "{sb.base_url}"\n'
        f'username = "{sb.username}"\n'
        f'password = "${{{env}:-{sb.password}}}"\n'
        f'site_uuid = "{sb.site_uuids[0]}"\n'
        'lead_source = "leadkit demo"\n'
    )
    return (
        f"[destinations.{name}]\n{account}"
        'phone_region = "GB"  # the sandbox sources are British; +… numbers keep their own\n'
        "\n"
        "# The same site's anonymous potential sellers, from the realties of OviPro leads:\n"
        f"# `leadkit push {name}_sellers --table ovipro_leads --where ...`.\n"
        f"[destinations.{name}_sellers]\n{account}"
        'lead_kind = "potential_seller"\n'
        'property_fields = { street_address = "lead.realty.address.street_address", '
        'city = "lead.realty.address.postal_area", zip = "lead.realty.address.postcode" }\n'
    )


SANDBOXES: tuple[SandboxSpec, ...] = (
    SandboxSpec(
        "kpro",
        "source",
        "KPro Marketing",
        _kpro,
        _kpro_toml,
        lambda sb: f"{sb.base_url}/api/bulk/open/leads",
        lambda sb: f"api_key={sb.api_key}",
    ),
    SandboxSpec(
        "ovipro",
        "source",
        "OviPro",
        _ovipro,
        _ovipro_toml,
        lambda sb: f"{sb.base_url}/leads (tokens: {sb.auth_url}/tokens)",
        lambda sb: f"username={sb.username} password={sb.password}",
    ),
    SandboxSpec(
        "carehome",
        "source",
        "Carehome directory",
        _carehome,
        _carehome_toml,
        lambda sb: f"{sb.base_url}/api/leads/",
        lambda sb: f"api_key={sb.api_key}",
    ),
    SandboxSpec(
        "dialler",
        "destination",
        "Dialler",
        _dialler,
        _dialler_toml,
        lambda sb: f"{sb.base_url}/lead/add (types: {', '.join(sb.lead_types)})",
        lambda sb: f"key={sb.api_key}",
    ),
    SandboxSpec(
        "realgeeks",
        "destination",
        "Real Geeks",
        _realgeeks,
        _realgeeks_toml,
        lambda sb: f"{sb.base_url}/rest/sites/{sb.site_uuids[0]}/leads",
        lambda sb: f"username={sb.username} password={sb.password}",
    ),
)


def spec(system: str) -> SandboxSpec:
    """The sandbox of one system.

    Raises:
        LookupError: no sandbox for that name; the message lists the known ones.
    """
    for s in SANDBOXES:
        if s.system == system:
            return s
    known = [s.system for s in SANDBOXES]
    close = difflib.get_close_matches(system, known, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise LookupError(f"no sandbox for {system!r}; {hint}Allowed: {', '.join(known)}")


@dataclass(frozen=True)
class RunningSandbox:
    """A started simulator and the name its config block uses."""

    name: str
    spec: SandboxSpec
    thread: SandboxThread

    @property
    def server(self) -> Any:
        """The simulator object (its ``base_url``, credentials, received requests …)."""
        return self.thread.server

    def toml(self) -> str:
        """This simulator's ``leadkit.toml`` block."""
        return self.spec.toml(self.name, self.server)


@contextlib.contextmanager
def start_sandboxes(
    wanted: Sequence[tuple[str, str, SandboxOptions]],
) -> Iterator[list[RunningSandbox]]:
    """Start simulators, each in its own thread; stop them all on exit.

    Args:
        wanted: ``(config name, system, options)`` for each simulator to start.
    """
    with contextlib.ExitStack() as stack:
        running = []
        for name, system, options in wanted:
            s = spec(system)
            thread = stack.enter_context(
                SandboxThread(lambda s=s, o=options: s.build(o))  # type: ignore[misc]
            )
            running.append(RunningSandbox(name, s, thread))
        yield running


def config_text(running: Sequence[RunningSandbox], *, warehouse: str, header: str) -> str:
    """A whole ``leadkit.toml`` for running simulators: warehouse, sources, destinations.

    >>> print(config_text([], warehouse="leadkit.duckdb", header="# demo"))
    # demo
    [warehouse]
    path = "leadkit.duckdb"
    <BLANKLINE>
    """
    blocks = [f'{header}\n[warehouse]\npath = "{warehouse}"\n']
    blocks += [r.toml() for r in running if r.spec.role == "source"]
    blocks += [r.toml() for r in running if r.spec.role == "destination"]
    return "\n".join(blocks)


def serve_sandboxes(
    systems: Sequence[str],
    options: SandboxOptions,
    *,
    write_config: str | None,
    console: Any,
    stop: Any = None,
) -> None:
    """Serve simulators until Ctrl-C / SIGTERM (``leadkit sandbox``).

    Each system gets its own port: ``options.port``, ``options.port + 1`` … (or free ports
    when it is 0). Prints each simulator's address and public demo credentials, and writes
    a ready-to-use ``leadkit.toml`` to ``write_config`` when given.

    Args:
        systems: which simulators (``kpro``, ``ovipro`` …); empty = all of them.
        options: size, seed, latency, faults and the first port.
        write_config: path of a leadkit.toml to write, or ``None``.
        console: a rich console for the listing.
        stop: a ``threading.Event`` that ends serving (tests); default: wait for a signal.
    """
    import dataclasses
    import signal
    import threading
    from pathlib import Path

    chosen = [spec(s).system for s in systems] or [s.system for s in SANDBOXES]
    wanted = []
    for i, system in enumerate(dict.fromkeys(chosen)):
        port = options.port + i if options.port else 0
        wanted.append((f"{system}_sandbox", system, dataclasses.replace(options, port=port)))
    done = stop if stop is not None else threading.Event()
    if stop is None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: done.set())
    with start_sandboxes(wanted) as running:
        for r in running:
            console.print(
                f"[bold]{r.spec.title}[/bold] ({r.spec.role}): {r.spec.endpoint(r.server)}"
            )
            console.print(f"  public demo credentials: {r.spec.login(r.server)}")
        if write_config:
            path = Path(write_config)
            path.write_text(
                config_text(
                    running,
                    warehouse="leadkit.duckdb",
                    header="# Written by `leadkit sandbox`: points leadkit at the local "
                    "simulators.\n# The credentials are the simulators' public demo values.",
                ),
                encoding="utf-8",
            )
            console.print(f"Config for these sandboxes: {path}")
            console.print(f"Try: leadkit extract --config {path}")
        console.print("Ctrl-C to stop.", highlight=False)
        while not done.wait(0.5):
            pass
