"""Daemon settings: defaults in code, then a TOML file, `.env`, and `DIALERD_*` variables.

Priority, highest first: explicit arguments, environment (``DIALERD_AMI__PORT=5039``),
``.env``, the TOML file (``--config PATH``, else ``/etc/dialerd/dialerd.toml`` when present).
"""

from __future__ import annotations

import hashlib
import os
import re
import socket
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, Field, SecretStr
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from dialerd.settings_basic import BUSY_TIMEOUT_S, ENV_FILE, HEARTBEAT_S, config_path
from dialerd.settings_basic import DEFAULT_CONFIG_FILE as DEFAULT_CONFIG_FILE
from dialerd.settings_basic import default_database_url as default_database_url
from dialerd.settings_basic import resolve_config_file as resolve_config_file
from dialerd.settings_basic import state_directory as state_directory


def _path_list(value: Any) -> Any:
    """``"/srv/a:/srv/b"`` (as the environment gives it) → two paths; lists pass through."""
    if isinstance(value, str):
        return [part for part in value.split(os.pathsep) if part.strip()]
    return value


def default_instance_id() -> str:
    """``<host>:<8 hex of sha256(absolute state directory)>``: the same after a restart.

    A daemon restarted on the same host and state directory keeps its id, so it
    adopts the calls its previous run left up; the instance lock
    (:mod:`dialerd.process.instance_lock`) refuses a second daemon with that id.
    """
    where = str(state_directory().resolve())
    return f"{socket.gethostname()}:{hashlib.sha256(where.encode()).hexdigest()[:8]}"


class DatabaseSettings(BaseModel):
    url: str = Field(
        default_factory=default_database_url,
        description="SQLAlchemy URL; default: SQLite in $STATE_DIRECTORY, else ./var/dialerd.db",
    )
    busy_timeout_s: float = Field(
        BUSY_TIMEOUT_S, gt=0, description="SQLite: how long a write waits for another writer's lock"
    )


class ResultsSettings(BaseModel):
    """The result writer: what it holds while the database cannot take results."""

    queue_max: int = Field(10_000, ge=1, description="results held in memory; more are spilled")
    spill_dir: Path = Field(
        default_factory=state_directory,
        description="folder of the spill files (results-<instance>.jsonl); "
        "default: $STATE_DIRECTORY, else ./var",
    )
    linger_s: float = Field(
        0.02,
        ge=0,
        le=1.0,
        description="after writing a small batch, wait this long for more results "
        "(fewer, larger transactions while results stream in)",
    )
    retry_min_s: float = Field(0.5, gt=0, description="first wait after a failed write (doubles)")
    retry_max_s: float = Field(30.0, gt=0, description="longest wait between write attempts")
    give_up_s: float = Field(
        600.0,
        gt=0,
        description="the database failing this long stops the daemon (exit 70; systemd restarts)",
    )


class AmiSettings(BaseModel):
    host: str = Field("127.0.0.1", description="Asterisk's AMI address")
    port: int = Field(5038, ge=1, le=65535)
    username: str = Field("dialerd", description="manager.conf user")
    secret: SecretStr = Field(SecretStr(""), description="manager.conf secret (never logged)")
    connect_timeout_s: float = Field(5.0, gt=0, description="TCP connect deadline")
    action_timeout_s: float = Field(5.0, gt=0, description="deadline for any AMI action reply")
    ping_interval_s: float = Field(5.0, gt=0, description="keep-alive Ping period")
    reconnect_min_s: float = Field(1.0, gt=0, description="first reconnect delay (doubles)")
    reconnect_max_s: float = Field(60.0, gt=0, description="longest reconnect delay")
    settle_grace_s: float = Field(
        30.0, ge=0, description="after ring timeout, how long an unanswered dial may stay open"
    )
    queue_wrapup_s: dict[str, float] = Field(
        default_factory=dict,
        description="each agent queue's wrapuptime from queues.conf (AMI does not tell it)",
    )


class AgiSettings(BaseModel):
    enabled: bool = Field(True, description="serve FastAGI for the answered leg")
    host: str = "127.0.0.1"
    port: int = Field(4573, ge=0, le=65535, description="FastAGI port (0 picks a free one)")
    secret: SecretStr = Field(
        SecretStr(""),
        description="signs each DIALERD_TOKEN (never logged); empty: a random one in the database",
    )
    max_connections: int = Field(
        256, ge=1, description="connections held at once; the oldest idle one makes room"
    )
    workers: int = Field(16, ge=1, description="threads running AGI sessions")
    backlog: int = Field(1024, ge=1, description="listen backlog (capped by net.core.somaxconn)")
    idle_timeout_s: float = Field(10.0, gt=0, description="a connection silent this long is closed")
    max_line_bytes: int = Field(
        8192, ge=256, description="longest line accepted; a longer one closes the connection"
    )


class SimulatedTeam(BaseModel):
    """The built-in simulator's agents: one app_queue team (docs/operations.md)."""

    agents: int = Field(0, ge=0, le=1000, description="team size; 0: no simulated queue")
    queue: str = Field("callback-team", description="the queue's name, as campaigns name it")
    context: str = Field("dialerd-queue", description="answered calls into it join the queue")
    timeout_s: float = Field(2.0, gt=0, description="Queue() timeout: the campaigns' abandon_after")
    talk_s: float = Field(30.0, ge=0, description="mean talk time (log-normal)")
    talk_sigma: float = Field(0.5, ge=0, description="log-normal shape of talk times")
    wrapup_s: float = Field(5.0, ge=0, description="mean wrap-up after each call (whole seconds)")
    wrapup_sigma: float = Field(0.0, ge=0, description="log-normal shape of wrap-up times")
    seed: int | None = Field(None, description="the agents' random draws; unset: new each run")


class SimulatorSettings(BaseModel):
    """The built-in AMI simulator `dialerd run` starts when ``pbx.kind = "simulator"``."""

    host: str = Field("127.0.0.1", description="where the built-in AMI simulator listens")
    port: int = Field(0, ge=0, le=65535, description="0 picks a free port")
    time_scale: float = Field(1.0, gt=0, description="1.0 = real call durations")
    team: SimulatedTeam = Field(default_factory=SimulatedTeam)


def default_recording_prefix(database_url: str) -> str:
    """``<host>-<database name>-``: recordings of deployments sharing a PBX stay apart.

    SQLite: this host and the file's stem; a server database: its host and name.
    Attempt keys are unique within one database only, so the prefix names it.
    """
    from sqlalchemy.engine import make_url

    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        host, name = socket.gethostname(), Path(url.database or "memory").stem
    else:
        host, name = url.host or "local", url.database or "dialerd"
    return re.sub(r"[^A-Za-z0-9._-]+", "_", f"{host}-{name}") + "-"


class PbxSettings(BaseModel):
    kind: Literal["ami", "simulator"] = Field(
        "simulator", description="ami: a real Asterisk; simulator: the built-in AMI simulator"
    )
    recording_prefix: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9._-]*$",
        max_length=64,
        description="DIALERD_RECORDING = prefix + attempt key; default <host>-<database name>-",
    )
    max_channels: int = Field(100, ge=1, description="calls in flight on this PBX, all campaigns")
    calls_per_second: float = Field(
        50.0,
        gt=0,
        description="originates per second, all campaigns; they leave evenly at this pace",
    )
    cdr_csv: Path | None = Field(
        None,
        description="Asterisk's call records (cdr_csv Master.csv or a cdr_custom file) on this "
        "host: calls that ended while no daemon listened are settled from them",
    )
    cdr_columns: list[str] | None = Field(
        None,
        description="the file's column order; default: Master.csv's with loguniqueid and "
        "loguserfield (docs/asterisk.md)",
    )


class SchedulerSettings(BaseModel):
    tick_s: float = Field(0.2, gt=0, description="dispatcher period")
    batch: int = Field(
        500, ge=1, description="most rows claimed per campaign per tick_s (more for a late tick)"
    )
    reap_interval_s: float = Field(15.0, gt=0, description="period of the orphaned-dial check")
    heartbeat_s: float = Field(HEARTBEAT_S, gt=0, description="instance heartbeat period")
    drain_timeout_s: float = Field(30.0, ge=0, description="SIGTERM: wait this long for calls")
    peer_grace_s: float = Field(
        120.0,
        ge=0,
        description="a peer gone this long has its unanswered dials interrupted "
        "(time for it to restart and replay its spilled results)",
    )


class CarrierSettings(BaseModel):
    """Ported numbers (携号转网): the carrier a number is on now, not its prefix's."""

    ported_file: Path | None = Field(
        None,
        description="CSV of number,carrier that overrides the prefix carrier; re-read on change",
    )
    check_s: float = Field(
        5.0,
        gt=0,
        description="how often the stored carriers are updated from the ported file "
        "(each dial reads the file as it is then)",
    )


class LogSettings(BaseModel):
    format: Literal["auto", "json", "console"] = Field(
        "auto", description="auto: JSON lines unless stderr is a terminal"
    )
    level: Literal["debug", "info", "warning", "error"] = "info"
    mask_numbers: bool = Field(True, description="mask phone numbers in logs")


class MetricsSettings(BaseModel):
    enabled: bool = Field(False, description="serve Prometheus metrics")
    host: str = "127.0.0.1"
    port: int = Field(9464, ge=0, le=65535)


class ApiSettings(BaseModel):
    """The HTTP JSON API (docs/api.md); plain HTTP: TLS is a reverse proxy's job."""

    enabled: bool = Field(False, description="serve the HTTP API")
    host: str = Field("127.0.0.1", description="where the API listens")
    port: int = Field(8473, ge=0, le=65535, description="API port (0 picks a free one)")
    max_body_bytes: int = Field(1 << 20, ge=1024, description="largest JSON body accepted")
    max_csv_bytes: int = Field(10 << 20, ge=1024, description="largest CSV upload accepted")
    writes_per_second: float = Field(20.0, gt=0, description="each token's sustained write rate")
    write_burst: int = Field(40, ge=1, description="writes a token may send at once")


class Settings(BaseSettings):
    """Everything a daemon or a CLI command needs to know about its surroundings."""

    model_config = SettingsConfigDict(
        env_prefix="DIALERD_",
        env_nested_delimiter="__",
        env_file=ENV_FILE,
        env_file_encoding="utf-8",
        extra="ignore",
        validate_default=True,
    )

    instance_id: str = Field(
        default_factory=default_instance_id,
        description="this daemon's name; default <host>:<8 hex of the state directory's hash>",
    )
    campaigns_dir: Path = Field(Path("campaigns"), description="folder of campaign *.toml files")
    rejects_dir: Path | None = Field(None, description="default: next to each contact list")
    lists_dirs: Annotated[list[Path], NoDecode, BeforeValidator(_path_list)] = Field(
        default_factory=list,
        description="folders besides each campaign's own that its contact lists may be in",
    )
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    results: ResultsSettings = Field(default_factory=ResultsSettings)
    pbx: PbxSettings = Field(default_factory=PbxSettings)
    ami: AmiSettings = Field(default_factory=AmiSettings)
    agi: AgiSettings = Field(default_factory=AgiSettings)
    simulator: SimulatorSettings = Field(default_factory=SimulatorSettings)
    scheduler: SchedulerSettings = Field(default_factory=SchedulerSettings)
    log: LogSettings = Field(default_factory=LogSettings)
    carriers: CarrierSettings = Field(default_factory=CarrierSettings)
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls)  # reads model_config["toml_file"]
        return (init_settings, env_settings, dotenv_settings, toml, file_secret_settings)


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Load settings from every source; ``config_file`` must exist when given."""
    return settings_class(config_path(config_file))(**overrides)


def settings_class(config_file: Path | None) -> type[Settings]:
    """``Settings`` bound to one TOML file (pydantic-settings reads it from the class)."""
    if config_file is None:
        return Settings
    config = SettingsConfigDict(**{**Settings.model_config, "toml_file": config_file})
    return type("Settings", (Settings,), {"model_config": config})
