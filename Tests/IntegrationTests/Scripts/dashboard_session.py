"""Drives the dashboard in Debian's headless Chromium through its chromedriver, as a user would.

Usage: dashboard_session.py LOGIN_URL SCREENSHOT_DIR TOKEN NEEDLE EVENTS_URL EVENTS_TOKEN
Signs in through the `pyre ui` link, checks the fleet, starts a deploy from the page and watches
the servers change without a reload, opens the deployment's timeline, searches the logs for
NEEDLE, appends an event (through the events API, as an application would) while the Events
page is open and sees it arrive, looks at the DNS page and at a phone-sized window; one
screenshot per step.
Exits non-zero with the reason on the first thing that is not as it should be.
"""
import json
import os
import sys
import urllib.request
import uuid

os.environ["SE_OFFLINE"] = "true"  # selenium must never fetch a browser or driver of its own
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

login_url, shots, token, needle, events_url, events_token = sys.argv[1:7]
os.makedirs(shots, exist_ok=True)
options = webdriver.ChromeOptions()
options.binary_location = "/usr/bin/chromium"
for argument in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,900",
                 "--no-first-run", "--disable-extensions", "--disable-background-networking", "--disable-sync",
                 "--disable-component-update", "--disable-default-apps"]:
    options.add_argument(argument)
options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
step = [0]


def shot(name):
    step[0] += 1
    path = os.path.join(shots, "%02d-%s.png" % (step[0], name))
    driver.save_screenshot(path)
    print("screenshot", path, flush=True)


def wait(condition, what, timeout=60):
    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.2,
                             ignored_exceptions=[StaleElementReferenceException]).until(lambda _: condition())
    except Exception as error:
        shot("failed")
        console = "\n".join(entry["message"] for entry in driver.get_log("browser"))
        raise SystemExit("gave up waiting for %s (%s)\nbrowser console:\n%s" % (what, type(error).__name__, console))


def servers():
    # In one script call: the live feed redraws the table at any moment.
    return [tuple(row) for row in driver.execute_script(
        "return [...document.querySelectorAll('table.servers tr[data-server]')]"
        ".map(row => [row.dataset.server, row.dataset.generation])")]


try:
    driver.get(login_url)
    wait(lambda: driver.current_url.endswith("/ui"), "the login to land on /ui", 10)
    cookie = driver.get_cookie("pyre_session")
    if not cookie or not cookie.get("httpOnly") or cookie.get("sameSite") != "Strict":
        raise SystemExit("the session cookie is not HttpOnly and SameSite=Strict: %r" % cookie)
    if token in driver.page_source:
        raise SystemExit("the page shows the control token")
    wait(lambda: len(servers()) == 2 and all(g == "1" for _, g in servers()), "two generation-1 servers")
    print("fleet", servers(), flush=True)
    shot("fleet")
    loaded_at = driver.execute_script("return window.pyreLoadedAt")

    driver.find_element(By.ID, "deploy").click()
    WebDriverWait(driver, 10).until(expected_conditions.alert_is_present())
    driver.switch_to.alert.accept()
    wait(lambda: len(servers()) == 2 and all(g == "2" for _, g in servers()), "the deploy's generation-2 servers", 90)
    if driver.execute_script("return window.pyreLoadedAt") != loaded_at:
        raise SystemExit("the page reloaded during the deploy")
    print("deployed", servers(), flush=True)
    shot("deployed")

    driver.find_element(By.LINK_TEXT, "Deployments").click()
    wait(lambda: len(driver.find_elements(By.CSS_SELECTOR, "tr[data-deployment]")) >= 2, "two deployments listed")
    shot("deployments")
    driver.find_element(By.LINK_TEXT, "#2").click()
    wait(lambda: driver.find_elements(By.CSS_SELECTOR, "table.timeline tr[data-row]"), "deployment 2's timeline")
    timeline = driver.find_element(By.CSS_SELECTOR, "table.timeline").text
    if "gate passed" not in timeline or "destroyed" not in timeline:
        raise SystemExit("the timeline lacks the gate or the destroy: " + timeline)
    print("timeline rows", len(driver.find_elements(By.CSS_SELECTOR, "table.timeline tr[data-row]")), flush=True)
    shot("timeline")

    driver.find_element(By.LINK_TEXT, "Logs").click()
    grep = wait(lambda: driver.find_element(By.CSS_SELECTOR, "#logs-form input[name=grep]"), "the log search form")
    grep.send_keys(needle)
    driver.find_element(By.CSS_SELECTOR, "#logs-form button[type=submit]").click()
    wait(lambda: needle in driver.find_element(By.ID, "logs-results").text, "the log search to find " + needle)
    shot("logs")

    driver.find_element(By.LINK_TEXT, "Events").click()
    wait(lambda: driver.find_element(By.ID, "view").get_attribute("data-route") == "events", "the events page")
    append = urllib.request.Request(events_url + "/streams/dashboard-orders", method="POST", data=json.dumps(
        {"id": str(uuid.uuid4()), "type": "OrderPlaced", "data": {"order": needle}}).encode())
    append.add_header("Authorization", "Bearer " + events_token)
    append.add_header("Content-Type", "application/json")
    urllib.request.urlopen(append, timeout=10).close()
    wait(lambda: needle in driver.find_element(By.CSS_SELECTOR, "table.events").text, "the appended event on the open page")
    summary = driver.find_element(By.ID, "view").text
    if "streams on this page: dashboard-orders" not in summary:
        raise SystemExit("the page does not list the event's stream: " + summary)
    shot("events")
    driver.find_element(By.LINK_TEXT, "DNS").click()
    wait(lambda: "SOA" in driver.find_element(By.ID, "view").text, "the zone with its SOA")
    shot("dns")

    driver.set_window_size(390, 844)
    driver.find_element(By.LINK_TEXT, "Fleet").click()
    wait(lambda: len(servers()) == 2, "the fleet in a narrow window")
    overflow = driver.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
    if overflow > 1:
        shot("narrow-overflow")
        raise SystemExit("the fleet is %d px wider than a phone's window" % overflow)
    shot("fleet-narrow")
    print("dashboard session ok", flush=True)
finally:
    driver.quit()
