"""The web app end to end in a real browser: headless Chromium (the Debian packages,
driven by Selenium) against the API run as a child process on loopback.

A trainer signs in, makes a routine from a video and publishes it, and another from the
phone app's keypoints; a user signs in, uploads a video of their own (the same person,
rocking sideways as they go) and keeps it, follows the job to the session view, sees the
3D player draw and the video beside it, in step with the player's scrubber; then sends
squats with errors as keypoints and clicks an error on the timeline: the player goes
there. (A photo that rocks bends no joint, so whether the coach cues it depends on the
machine's floating point: the errors come from keypoints.) A trainer records a routine
with Chromium's fake camera. Screenshots of the video session's view at 390 and 1280 px
wide are saved under ``test-artifacts/`` (or the folder in ``COACH_TEST_ARTIFACTS``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import httpx
import pytest

from coach_client.local_server import free_port, grant_role, server_env, start_server
from tests.conftest import REPO, write_bobbing_video

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
PASSWORD = "correct horse"
WAIT_S = 180  # a video job on two busy cores, and a first lift


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium with software WebGL (no GPU here), its console kept."""
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.skip("needs the Debian packages chromium and chromium-driver (.ci/run has them)")
    webdriver = pytest.importorskip("selenium.webdriver")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root
        "--disable-dev-shm-usage",
        "--use-angle=swiftshader",
        "--enable-unsafe-swiftshader",
        "--window-size=1280,900",
        # A fake camera (a moving test pattern), allowed without asking.
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = webdriver.ChromeService(executable_path=str(CHROMEDRIVER))
    driver = webdriver.Chrome(options=options, service=service)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def server(tmp_path_factory, pose_task):
    """The API as ``coach-api serve`` runs it, with the pose model for videos; yields its
    base URL and environment (for granting roles)."""
    data = tmp_path_factory.mktemp("web-e2e")
    port = free_port()
    process = start_server(data, port, pose_task=pose_task)
    yield f"http://127.0.0.1:{port}", server_env(data, pose_task=pose_task)
    process.terminate()
    process.wait(timeout=30)


def _register(base: str, email: str) -> None:
    response = httpx.post(f"{base}/v1/auth/register", json={"email": email, "password": PASSWORD})
    assert response.status_code == 201, response.text


def _artifacts() -> Path:
    folder = Path(os.environ.get("COACH_TEST_ARTIFACTS", REPO / "test-artifacts"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _sign_in(driver, wait, base: str, email: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec

    driver.get(f"{base}/app#/sign-in")
    wait.until(ec.element_to_be_clickable((By.ID, "email"))).send_keys(email)
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    driver.find_element(By.ID, "sign-in").click()
    wait.until(ec.text_to_be_present_in_element((By.ID, "nav"), email))


def _drawn_share(driver) -> float:
    """The share of the player's pixels that are not the background's colour (the
    canvas keeps its drawing buffer, so it can be read back)."""
    return driver.execute_script(
        """
        const canvas = document.getElementById("player-canvas");
        const copy = document.createElement("canvas");
        copy.width = canvas.width; copy.height = canvas.height;
        const context = copy.getContext("2d");
        context.drawImage(canvas, 0, 0);
        const pixels = context.getImageData(0, 0, copy.width, copy.height).data;
        let drawn = 0;
        for (let i = 0; i < pixels.length; i += 4) {
          const far = Math.abs(pixels[i] - 246) + Math.abs(pixels[i + 1] - 247)
            + Math.abs(pixels[i + 2] - 249);
          if (far > 40) drawn++;  // the background is #f6f7f9
        }
        return drawn / (pixels.length / 4);
        """
    )


def _video_time(driver) -> float:
    return driver.execute_script("return document.getElementById('session-video').currentTime")


def _screenshot(driver, width: int, path: Path) -> None:
    """The whole session view at ``width`` px: the window made as tall as the page."""
    driver.set_window_size(width, 900)
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(width, min(height + 120, 8000))
    driver.execute_script("window.scrollTo(0, 0)")
    driver.save_screenshot(str(path))


def _new_routine(browser, wait, name: str, movement: str, recording: Path, publish: bool) -> None:
    """The signed-in trainer makes a routine from ``recording`` (a video or keypoints)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import Select

    wait.until(ec.element_to_be_clickable((By.ID, "new-routine"))).click()
    wait.until(ec.element_to_be_clickable((By.ID, "routine-name"))).send_keys(name)
    Select(browser.find_element(By.ID, "routine-movement")).select_by_value(movement)
    browser.find_element(By.ID, "routine-file").send_keys(str(recording))
    if not publish:
        browser.find_element(By.ID, "routine-published").click()  # publish later
    browser.find_element(By.ID, "create-routine").click()
    wait.until(ec.url_contains("#/routines"))


def _try_routine(browser, wait, name: str, recording: Path, keep_video: bool) -> None:
    """The signed-in user sends ``recording`` for feedback on routine ``name`` and waits
    for the session view."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec

    link = (By.CSS_SELECTOR, f"a[aria-label='Try it: {name}']")
    wait.until(ec.element_to_be_clickable(link)).click()
    wait.until(ec.presence_of_element_located((By.ID, "session-file"))).send_keys(str(recording))
    if keep_video:
        browser.find_element(By.ID, "keep-video").click()
    browser.find_element(By.ID, "send-recording").click()
    wait.until(ec.url_matches(r"#/sessions/\d+$"))


def _keypoint_files(folder: Path, trainer: dict, user: dict) -> tuple[Path, Path]:
    """The phone app's keypoint files of the squat ``trainer`` and ``user`` (the suite's
    ``trainer_payload`` and ``user_payload``: a rounded back and lifted heels at severity
    0.9, which the bundled detector cues whatever the machine, unlike anything in a photo)."""
    trainer_file, user_file = folder / "squat-trainer.json", folder / "squat-user.json"
    trainer_file.write_text(json.dumps(trainer))
    user_file.write_text(json.dumps(user))
    return trainer_file, user_file


def test_trainer_publishes_a_video_routine_and_a_user_reviews_a_session(
    browser, server, tmp_path, person_video, trainer_payload, user_payload
):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    base, env = server
    wait = WebDriverWait(browser, WAIT_S)
    _register(base, "coach@example.com")
    grant_role("coach@example.com", "trainer", env)
    _register(base, "ana@example.com")
    squat_trainer, squat_user = _keypoint_files(tmp_path, trainer_payload, user_payload)

    # The trainer: a routine from a video, kept private, then published from the list; and
    # one from the phone app's keypoints, published at once.
    _sign_in(browser, wait, base, "coach@example.com")
    _new_routine(browser, wait, "Arm raise", "arm_raise", person_video, publish=False)
    publish = wait.until(
        ec.element_to_be_clickable((By.CSS_SELECTOR, "button[aria-label='Publish: Arm raise']"))
    )
    publish.click()
    wait.until(ec.text_to_be_present_in_element((By.ID, "routines"), "published"))
    _new_routine(browser, wait, "Squat", "squat", squat_trainer, publish=True)
    wait.until(ec.text_to_be_present_in_element((By.ID, "routines"), "Squat"))
    browser.find_element(By.XPATH, "//button[text()='Sign out']").click()

    # The user: their video, rocking sideways up to 25 degrees as they bob, kept.
    # WebM (VP8): kept, the browser plays it (Chromium has no MPEG-4 part 2 decoder).
    user_video = write_bobbing_video(tmp_path / "ana.webm", lean_deg=25, fourcc="VP80")
    _sign_in(browser, wait, base, "ana@example.com")
    _try_routine(browser, wait, "Arm raise", user_video, keep_video=True)
    canvas = wait.until(ec.visibility_of_element_located((By.ID, "player-canvas")))
    assert canvas.get_attribute("aria-label").startswith("3D player")

    # The player drew the three figures; the kept video is beside it, loaded.
    wait.until(lambda driver: _drawn_share(driver) > 0.005)
    # The view turns from the keyboard too: 15 degrees an arrow key.
    facing = float(canvas.get_attribute("data-azimuth-deg"))
    canvas.send_keys(Keys.ARROW_RIGHT, Keys.ARROW_RIGHT)
    turned = float(canvas.get_attribute("data-azimuth-deg"))
    assert abs((turned - facing) % 360 - 30) < 0.5, (facing, turned)
    video = browser.find_element(By.ID, "session-video")
    assert video.get_attribute("aria-label").startswith("Your video")
    wait.until(lambda driver: driver.execute_script("return arguments[0].readyState", video) >= 1)
    fps = float(browser.find_element(By.ID, "player").get_attribute("data-fps"))
    # The video goes where the player's scrubber goes, and the player where the video goes.
    scrubber = browser.find_element(By.ID, "scrubber")
    scrubber.send_keys(Keys.END)
    end = float(scrubber.get_attribute("value"))
    assert end > 1.0
    wait.until(lambda _: abs(_video_time(browser) - end) <= 0.1)
    browser.execute_script("arguments[0].currentTime = 0.5", video)
    wait.until(lambda _: abs(float(scrubber.get_attribute("value")) - 0.5) <= 1 / fps + 1e-6)
    assert "null" not in browser.find_element(By.ID, "main").text.split()
    folder = _artifacts()
    for width in (390, 1280):
        _screenshot(browser, width, folder / f"session-view-{width}.png")
        assert (folder / f"session-view-{width}.png").stat().st_size > 10_000
        overflow = browser.execute_script(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"the page scrolls sideways at {width} px"
    browser.set_window_size(1280, 900)

    # Then their squats, from the phone app's keypoints: errors on the timeline, and a
    # click on one (or Enter on it) seeks the player to its start (within a frame).
    browser.get(f"{base}/app#/routines")
    _try_routine(browser, wait, "Squat", squat_user, keep_video=False)
    bars = wait.until(ec.presence_of_all_elements_located((By.CSS_SELECTOR, ".timeline .bar")))
    assert bars, "the squats with a rounded back and lifted heels get cues"
    latest = max(bars, key=lambda bar: float(bar.get_attribute("data-start")))
    start = float(latest.get_attribute("data-start"))
    fps = float(browser.find_element(By.ID, "player").get_attribute("data-fps"))
    scrubber = browser.find_element(By.ID, "scrubber")
    scrubber.send_keys(Keys.END)  # somewhere else first
    assert float(scrubber.get_attribute("value")) > start
    latest.click()
    assert abs(float(scrubber.get_attribute("value")) - start) <= 1 / fps + 1e-6
    assert "active" in latest.get_attribute("class")
    # The keyboard does the same: focus a bar, Enter.
    scrubber.send_keys(Keys.END)
    latest.send_keys(Keys.ENTER)
    assert abs(float(scrubber.get_attribute("value")) - start) <= 1 / fps + 1e-6
    # Cues in words and the progress chart with its units.
    assert browser.find_element(By.ID, "cues").text.strip()
    assert "null" not in browser.find_element(By.ID, "main").text.split()
    chart = wait.until(ec.presence_of_element_located((By.ID, "progress-chart")))
    assert "score (0–100)" in chart.text and "session date" in chart.text
    # Nothing was refused by the page's security policy, and no script failed.
    problems = [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not problems, problems


def test_the_app_opens_without_an_account(browser, server):
    """Signed out, the app shows the sign-in form and the models page."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    base, _ = server
    wait = WebDriverWait(browser, 30)
    browser.execute_script("sessionStorage.clear()")
    browser.get(f"{base}/app#/models")
    models = wait.until(ec.presence_of_element_located((By.ID, "models")))
    assert "lifter" in models.text


def test_a_trainer_records_a_routine_with_the_camera(browser, server):
    """About 2 s from Chromium's fake camera, recorded in the page and uploaded as WebM:
    a job is made of it; the test pattern shows nobody, so the page says so in words."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    base, env = server
    wait = WebDriverWait(browser, WAIT_S)
    _register(base, "camera@example.com")
    grant_role("camera@example.com", "trainer", env)
    browser.execute_script("sessionStorage.clear()")
    _sign_in(browser, wait, base, "camera@example.com")
    browser.get(f"{base}/app#/routines/new")
    wait.until(ec.element_to_be_clickable((By.ID, "routine-name"))).send_keys("Filmed here")
    browser.find_element(By.ID, "routine-file-open").click()
    wait.until(ec.element_to_be_clickable((By.ID, "routine-file-start"))).click()
    preview = browser.find_element(By.ID, "routine-file-preview")
    assert preview.get_attribute("aria-label").startswith("Camera preview")
    assert browser.execute_script("return arguments[0].muted", preview)
    clock = browser.find_element(By.ID, "routine-file-clock")
    wait.until(lambda _: clock.text and float(clock.text.split(" s")[0]) >= 2.0)
    browser.find_element(By.ID, "routine-file-stop").click()
    wait.until(ec.text_to_be_present_in_element((By.ID, "routine-file-state"), "Recorded"))
    browser.find_element(By.ID, "create-routine").click()
    wait.until(ec.url_matches(r"#/jobs/\d+$"))
    alert = wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, "#main [role=alert]")))
    assert "no person was found in the video" in alert.text
