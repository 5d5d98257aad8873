"""A small HTTP client of the coach API, doing what the Flutter app does (httpx).

Every method is one request; read them as the API's usage guide::

    client = CoachClient("http://127.0.0.1:8000")
    client.register("coach@example.com", "a long password", role="trainer")
    client.login("coach@example.com", "a long password")
    routine = client.create_routine("Squats", "squat", trainer_keypoints)   # phone JSON
    session = client.submit_session(routine["id"], user_keypoints)         # -> report
    html = client.report_html(session["id"])
"""

from __future__ import annotations

import httpx


class ApiRequestError(RuntimeError):
    """The API answered with an error: ``code``, ``message`` and maybe ``field``."""

    def __init__(self, status: int, error: dict) -> None:
        super().__init__(
            f"{status} {error.get('code')}: {error.get('message')} ({error.get('field', '-')})"
        )
        self.status, self.error = status, error


class CoachClient:
    def __init__(self, base_url: str, timeout: float = 120.0) -> None:
        self.http = httpx.Client(base_url=base_url.rstrip("/") + "/v1", timeout=timeout)

    def _check(self, response: httpx.Response) -> httpx.Response:
        if response.status_code >= 400:
            raise ApiRequestError(response.status_code, response.json().get("error", {}))
        return response

    def register(self, email: str, password: str, role: str = "user") -> dict:
        payload = {"email": email, "password": password, "role": role}
        return self._check(self.http.post("/auth/register", json=payload)).json()

    def login(self, email: str, password: str) -> None:
        """Log in; later requests carry the bearer token."""
        form = {"username": email, "password": password}
        token = self._check(self.http.post("/auth/login", data=form)).json()["access_token"]
        self.http.headers["Authorization"] = f"Bearer {token}"

    def create_routine(self, name: str, movement: str, keypoints: dict) -> dict:
        body = {"name": name, "movement": movement, "keypoints": keypoints}
        return self._check(self.http.post("/routines", json=body)).json()

    def submit_session(
        self, routine_id: int, keypoints: dict, strictness: str | None = None
    ) -> dict:
        body = {"routine_id": routine_id, "keypoints": keypoints}
        if strictness:
            body["strictness"] = strictness
        return self._check(self.http.post("/sessions", json=body)).json()

    def history(self, offset: int = 0, limit: int = 20) -> dict:
        return self._check(
            self.http.get("/sessions", params={"offset": offset, "limit": limit})
        ).json()

    def report_html(self, session_id: int) -> str:
        return self._check(self.http.get(f"/sessions/{session_id}/report.html")).text

    def delete_me(self) -> None:
        self._check(self.http.delete("/me"))
