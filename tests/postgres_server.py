"""A throwaway PostgreSQL server for the tests (``COACH_TEST_POSTGRES=1``).

The Debian packages' ``initdb`` and ``pg_ctl`` make a cluster in a temporary folder with
trust authentication on 127.0.0.1 and a free port, fsync off (a test database is thrown
away). PostgreSQL refuses to run as root: as root, the server runs as the ``postgres``
account the packages create. Each test gets a database of its own (:func:`new_database`).
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text

from coach_client.local_server import free_port


def _tool(name: str) -> str:
    found = shutil.which(name) or next(
        iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))), None
    )
    if found is None:
        raise RuntimeError(f"{name} not found: install PostgreSQL (apt-get install postgresql)")
    return found


def available() -> bool:
    """Whether a PostgreSQL server can be started here."""
    try:
        _tool("initdb")
        _tool("pg_ctl")
    except RuntimeError:
        return False
    return True


class PostgresServer:
    """A running throwaway cluster; :meth:`stop` ends it (its folder is the caller's)."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.port = folder, free_port()
        self.data = folder / "pgdata"
        self._as_owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self._as_owner:
            shutil.chown(folder, "postgres")
        subprocess.run(
            [*self._as_owner, _tool("initdb"), "-D", str(self.data), "-A", "trust", "-U",
             "postgres", "--no-sync", "-E", "UTF8"],
            check=True, capture_output=True,
        )  # fmt: skip
        options = f"-p {self.port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        subprocess.run(
            [*self._as_owner, _tool("pg_ctl"), "-D", str(self.data), "-o", options, "-w",
             "-l", str(folder / "server.log"), "start"],
            check=True, capture_output=True,
        )  # fmt: skip
        self.admin = create_engine(self.url("postgres"), isolation_level="AUTOCOMMIT")

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """The URL of a new, empty database."""
        name = f"test_{uuid.uuid4().hex[:12]}"
        with self.admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        return self.url(name)

    def stop(self) -> None:
        self.admin.dispose()
        subprocess.run(
            [*self._as_owner, _tool("pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"],
            check=False, capture_output=True,
        )  # fmt: skip
