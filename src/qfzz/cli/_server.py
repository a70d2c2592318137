"""Commands that change what a station serves go through its server when one runs.

A scan or an import written into the database under a running server is never seen by
it (its index, caches and profiles are its own), and two writers of one SQLite file fight
over its lock. So such a command first looks for ``<data_dir>/server.json``
(``qfzz.serving``): if a live server says it serves the data directory, the command is
sent to it over HTTP, signed in with the data directory's operator token, and prints what
the server answered; if that server does not answer, the command is refused with what to
do. With no server running the command opens the station itself, as before.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qfzz.cli._common import (
    err_console,
    make_settings,
    progress_bar,
    progress_callback,
    refuse,
)

if TYPE_CHECKING:
    import httpx

#: Seconds a server that says it serves the data directory has to answer at all.
ANSWER_WAIT = 5.0
#: Seconds between two looks at a job the server runs.
JOB_POLL = 0.25
#: Seconds a job may stay queued before the command says why it may stay so.
QUEUED_HINT = 10.0


@dataclass(frozen=True, slots=True)
class StationServer:
    """A running server of the command's data directory, and the operator's token."""

    url: str
    pid: int
    token: str

    def call(
        self,
        method: str,
        path: str,
        *,
        body: object = None,
        read_timeout: float | None = 60.0,
    ) -> Any:
        """The server's JSON answer to one request; a refusal ends the command with the
        server's reason, as the station's own errors do when run directly."""
        import httpx

        try:
            answer = httpx.request(
                method,
                f"{self.url}{path}",
                json=body,
                headers={"Authorization": f"Bearer {self.token}"},
                timeout=httpx.Timeout(10.0, read=read_timeout),
                trust_env=False,  # the station is on this machine: never through a proxy
            )
        except httpx.HTTPError as exc:
            refuse(f"the station at {self.url} (pid {self.pid}) did not answer: {exc}")
        if answer.status_code >= 400:
            refuse(_reason(answer))
        return answer.json() if answer.content else None

    def follow_job(self, job_id: str, description: str) -> dict[str, Any]:
        """Show a job the server runs until it is finished; its last state."""
        started = time.monotonic()
        hinted = False
        with progress_bar(description) as progress:
            update = progress_callback(progress, description)
            while True:
                job: dict[str, Any] = self.call("GET", f"/api/v1/jobs/{job_id}")
                if job["finished"]:
                    update(job["done"], job["total"] or job["done"], "")
                    return job
                if str(job["message"]).startswith("failed:"):
                    refuse(
                        f"the station's {description} job {job_id} {job['message']} "
                        f"(it tries again later: GET {self.url}/api/v1/jobs/{job_id})"
                    )
                if job["total"] is not None:
                    update(job["done"], job["total"], "")
                if not hinted and time.monotonic() - started > QUEUED_HINT:
                    hinted = True
                    if job["message"] == "queued":
                        err_console.print(
                            "still queued: the station runs jobs once its library is ready "
                            "(with --workers, `qfzz worker` runs them)"
                        )
                time.sleep(JOB_POLL)


def station_server(data_dir: Path | None) -> StationServer | None:
    """The server serving the command's data directory, or None when none does (the
    command then runs directly). A server that does not answer, or a data directory
    without its operator token, ends the command with what to do."""
    from qfzz.serving import OPERATOR_TOKEN_FILE, operator_token, served_at

    directory = make_settings(data_dir).data_dir
    served = served_at(directory)
    if served is None:
        return None
    token = operator_token(directory, create=False)
    if token is None:
        refuse(
            f"a station serves {directory} (pid {served.pid}, {served.url}) but "
            f"{directory / OPERATOR_TOKEN_FILE} is missing; restart it, or stop it to run "
            "this command directly"
        )
    server = StationServer(served.url, served.pid, token)
    _wait_for_answer(server)
    err_console.print(f"through the station at {served.url} (pid {served.pid})", style="dim")
    return server


def refuse_second_server(data_dir: Path) -> None:
    """``qfzz serve`` on a data directory another server serves would fight it over its
    files (and the CLI would not know which one to talk to)."""
    from qfzz.serving import served_at

    served = served_at(data_dir)
    if served is not None:
        refuse(
            f"a station serves {data_dir} already (pid {served.pid}, {served.url}); stop it "
            "first, or give this one another --data-dir"
        )


def _wait_for_answer(server: StationServer) -> None:
    import httpx

    deadline = time.monotonic() + ANSWER_WAIT
    while True:
        try:
            httpx.get(f"{server.url}/api/v1/health", timeout=ANSWER_WAIT, trust_env=False)
            return  # any answer: `starting` (503) serves commands too
        except httpx.HTTPError as exc:
            if time.monotonic() >= deadline:
                refuse(
                    f"the station serving this data directory (pid {server.pid}) does not "
                    f"answer at {server.url} ({exc or type(exc).__name__}); wait for it, or "
                    f"stop it (kill {server.pid}) to run this command directly"
                )
        time.sleep(JOB_POLL)


def _reason(answer: httpx.Response) -> str:
    """A refusal as the server explained it (its JSON ``detail``)."""
    try:
        body = answer.json()
    except ValueError:
        return f"the station answered {answer.status_code}: {answer.text[:300]}"
    if not isinstance(body, dict):
        return f"the station answered {answer.status_code}"
    return str(body.get("detail") or body.get("error") or answer.status_code)
