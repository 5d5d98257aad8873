"""A small HTTP client of the coach API, doing what the Flutter app does (httpx).

Every method is one request; read them as the API's usage guide::

    client = CoachClient("http://127.0.0.1:8000")
    client.register("coach@example.com", "a long password", invitation=code_from_an_admin)
    client.login("coach@example.com", "a long password")
    routine = client.create_routine("Squats", "squat", trainer_keypoints, published=True)
    session = client.submit_session(routine["id"], user_keypoints)         # -> report
    html = client.report_html(session["id"])
    job = client.upload_video(routine["id"], Path("workout.mp4"))        # server-side keypoints
    session = client.get_session(client.wait_for_job(job["id"])["session_id"])
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx

VIDEO_TYPES = {".mp4": "video/mp4", ".mov": "video/quicktime", ".webm": "video/webm"}


class ApiRequestError(RuntimeError):
    """The API answered with an error: ``code``, ``message`` and maybe ``field``."""

    def __init__(self, status: int, error: dict) -> None:
        super().__init__(
            f"{status} {error.get('code')}: {error.get('message')} ({error.get('field', '-')})"
        )
        self.status, self.error = status, error


class CoachClient:
    """One app user's connection; ``http`` lets tests pass an in-process client."""

    def __init__(
        self, base_url: str, timeout: float = 120.0, http: httpx.Client | None = None
    ) -> None:
        self.http = http or httpx.Client(timeout=timeout)
        self.http.base_url = base_url.rstrip("/") + "/v1"

    def _check(self, response: httpx.Response) -> httpx.Response:
        if response.status_code >= 400:
            raise ApiRequestError(response.status_code, response.json().get("error", {}))
        return response

    def register(self, email: str, password: str, invitation: str | None = None) -> dict:
        """A new account: a user, or what the admin's ``invitation`` code grants."""
        payload = {"email": email, "password": password}
        if invitation:
            payload["invitation"] = invitation
        return self._check(self.http.post("/auth/register", json=payload)).json()

    def login(self, email: str, password: str) -> None:
        """Log in; later requests carry the bearer token."""
        form = {"username": email, "password": password}
        token = self._check(self.http.post("/auth/login", data=form)).json()["access_token"]
        self.http.headers["Authorization"] = f"Bearer {token}"

    def create_routine(
        self, name: str, movement: str, keypoints: dict, published: bool = False
    ) -> dict:
        """A trainer's routine; ``published`` puts it in every user's catalogue."""
        body = {"name": name, "movement": movement, "keypoints": keypoints, "published": published}
        return self._check(self.http.post("/routines", json=body)).json()

    def submit_session(
        self, routine_id: int, keypoints: dict, strictness: str | None = None
    ) -> dict:
        """The scored session; one too long to score while the client waits goes to a
        background job, which is waited for."""
        body = {"routine_id": routine_id, "keypoints": keypoints}
        if strictness:
            body["strictness"] = strictness
        response = self.http.post("/sessions", json=body)
        if response.status_code == 422 and response.json()["error"]["code"] == "too_long_to_wait":
            job = self._check(self.http.post("/session-jobs", json=body)).json()
            return self.get_session(self.wait_for_job(job["id"])["session_id"])
        return self._check(response).json()

    def get_session(self, session_id: int) -> dict:
        return self._check(self.http.get(f"/sessions/{session_id}")).json()

    def upload_video(self, routine_id: int, video: Path, keep_video: bool = False) -> dict:
        """A workout video for ``routine_id``; returns the background job to poll."""
        files = {"video": (video.name, video.read_bytes(), VIDEO_TYPES[video.suffix.lower()])}
        form = {"routine_id": str(routine_id), "keep_video": str(keep_video).lower()}
        return self._check(self.http.post("/videos", data=form, files=files)).json()

    def create_routine_from_video(
        self, name: str, movement: str, video: Path, published: bool = False
    ) -> dict:
        """A trainer's video becomes a routine; returns the job (``routine_id`` when done)."""
        files = {"video": (video.name, video.read_bytes(), VIDEO_TYPES[video.suffix.lower()])}
        form = {"name": name, "movement": movement, "published": str(published).lower()}
        return self._check(self.http.post("/routines/video", data=form, files=files)).json()

    def publish_routine(self, routine_id: int, published: bool = True) -> dict:
        """Put a routine in the users' catalogue (or take it out)."""
        body = {"published": published}
        return self._check(self.http.patch(f"/routines/{routine_id}", json=body)).json()

    def invite(self, role: str = "trainer") -> str:
        """(Admins) a single-use invitation code for ``role``."""
        return self._check(self.http.post("/admin/invitations", json={"role": role})).json()["code"]

    def wait_for_job(self, job_id: int, timeout_s: float = 600.0) -> dict:
        """Poll ``/jobs/{id}`` until done; raises with the job's reason if it failed or was
        cancelled."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            job = self._check(self.http.get(f"/jobs/{job_id}")).json()
            if job["status"] == "done":
                return job
            if job["status"] in ("failed", "cancelled"):
                raise RuntimeError(f"job {job_id} {job['status']}: {job['error']}")
            time.sleep(0.5)
        raise TimeoutError(f"job {job_id} still running after {timeout_s:.0f} s")

    def history(self, offset: int = 0, limit: int = 20) -> dict:
        return self._check(
            self.http.get("/sessions", params={"offset": offset, "limit": limit})
        ).json()

    def report_html(self, session_id: int) -> str:
        return self._check(self.http.get(f"/sessions/{session_id}/report.html")).text

    def delete_me(self) -> None:
        self._check(self.http.delete("/me"))
