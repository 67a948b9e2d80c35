"""The services a production-like Airflow needs, run locally from Debian's packages: PostgreSQL
(the metadata database, and the reminders database) and Redis (the Celery broker and the shared
Exotel request budget).

Each runs in the foreground as its own process group with a log file, on a free loopback port, and
keeps its data in a folder of its own. PostgreSQL refuses to run as root, so under root it runs as
Debian's ``postgres`` user. Local and throwaway: trust authentication on 127.0.0.1 only.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from tools import process_groups

POSTGRES_USER = "airflow"
_POSTGRES_BIN_DIRS = "/usr/lib/postgresql/*/bin"


def postgres_bin_dir() -> Path:
    """Debian's newest installed PostgreSQL server binaries (``apt-get install postgresql``)."""
    candidates = sorted(Path("/").glob(_POSTGRES_BIN_DIRS.lstrip("/")), key=lambda p: int(p.parent.name))
    for bin_dir in reversed(candidates):
        if (bin_dir / "initdb").exists():
            return bin_dir
    raise RuntimeError("PostgreSQL server not found: apt-get install postgresql")


def redis_server() -> str:
    path = shutil.which("redis-server")
    if path is None:
        raise RuntimeError("redis-server not found: apt-get install redis-server")
    return path


@dataclass
class LocalService:
    """One foreground server process with its log; :meth:`stop` ends it and its children."""

    name: str
    log_path: Path
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)
    _log: IO[bytes] | None = field(default=None, init=False)

    def spawn(self, command: list[str], **popen: Any) -> None:
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            command,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            **popen,
        )
        process_groups.track(self.process.pid, self.name)

    def check_alive(self) -> None:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"{self.name} exited with {self.process.returncode}; see {self.log_path}")

    def stop(self, signal_number: int = 2, timeout: float = 20.0) -> None:
        """SIGINT (PostgreSQL's fast shutdown) by default, then SIGKILL after ``timeout``."""
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal_number)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, 9)
                self.process.wait(timeout=5)
            process_groups.untrack(self.process.pid)
            self.process = None
        if self._log is not None:
            self._log.close()
            self._log = None


@dataclass
class LocalRedis(LocalService):
    """``redis-server`` on 127.0.0.1, nothing saved to disk."""

    port: int = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 30.0) -> LocalRedis:
        command = [redis_server(), "--port", str(self.port), "--bind", "127.0.0.1"]
        self.spawn([*command, "--save", "", "--appendonly", "no", "--protected-mode", "no"])
        _wait_for(lambda: _redis_answers(self.url), self, timeout)
        return self


@dataclass
class LocalPostgres(LocalService):
    """A PostgreSQL cluster in ``data_dir`` on 127.0.0.1:``port`` with a superuser ``airflow``."""

    data_dir: Path = Path()
    port: int = 0
    databases: tuple[str, ...] = ("airflow",)

    def url(self, database: str = "airflow", driver: str = "postgresql+psycopg2") -> str:
        return f"{driver}://{POSTGRES_USER}@127.0.0.1:{self.port}/{database}"

    def start(self, timeout: float = 60.0) -> LocalPostgres:
        bin_dir = postgres_bin_dir()
        user = _server_user()
        if not (self.data_dir / "PG_VERSION").exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            _give_to(self.data_dir, user)
            subprocess.run(
                [str(bin_dir / "initdb"), "-D", str(self.data_dir), "-U", POSTGRES_USER, "-A", "trust",
                 "-E", "UTF8", "--no-sync"],
                check=True, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, **_as_user(user),
            )  # fmt: skip
        settings = ["listen_addresses=127.0.0.1", f"unix_socket_directories={self.data_dir}",
                    "fsync=off", "synchronous_commit=off", "full_page_writes=off", "max_connections=300"]  # fmt: skip
        command = [str(bin_dir / "postgres"), "-D", str(self.data_dir), "-p", str(self.port)]
        self.spawn(command + [arg for setting in settings for arg in ("-c", setting)], **_as_user(user))
        _wait_for(lambda: self._create_databases(), self, timeout)
        return self

    def _create_databases(self) -> bool:
        import psycopg2

        try:
            connection = psycopg2.connect(self.url("postgres", driver="postgresql"), connect_timeout=3)
        except psycopg2.OperationalError:
            return False
        connection.autocommit = True  # CREATE DATABASE runs outside a transaction
        try:
            with connection.cursor() as cursor:
                for database in self.databases:
                    cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,))
                    if cursor.fetchone() is None:
                        cursor.execute(f'CREATE DATABASE "{database}"')
        finally:
            connection.close()
        return True


def _server_user() -> str | None:
    """Who runs PostgreSQL: Debian's ``postgres`` user when we are root (it refuses root), else us."""
    return "postgres" if os.geteuid() == 0 else None


def _as_user(user: str | None) -> dict[str, Any]:
    return {"user": user, "group": user, "extra_groups": []} if user else {}


def _give_to(path: Path, user: str | None) -> None:
    if user:
        entry = pwd.getpwnam(user)
        os.chown(path, entry.pw_uid, entry.pw_gid)


def _redis_answers(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=2).ping())
    except redis.RedisError:
        return False


def _wait_for(ready: Any, service: LocalService, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        service.check_alive()
        if ready():
            return
        time.sleep(0.3)
    raise TimeoutError(f"{service.name} did not come up in {timeout:.0f} s; see {service.log_path}")
