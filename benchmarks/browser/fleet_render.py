"""Times the dashboard's fleet page in Debian's headless Chromium (selenium on its chromedriver).

Usage: fleet_render.py LOGIN_URL SERVERS ROUNDS
Prints one JSON object: `loads`, each the milliseconds from the start of navigation (login
redirect included the first time) until every one of SERVERS rows is in the page and painted;
and `redraws`, the milliseconds one redraw of the page from the live feed's data takes.
"""
import json
import os
import sys

os.environ["SE_OFFLINE"] = "true"  # selenium must never fetch a browser or driver of its own
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

login_url, servers, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
options = webdriver.ChromeOptions()
options.binary_location = "/usr/bin/chromium"
for argument in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,900",
                 "--no-first-run", "--disable-extensions", "--disable-background-networking", "--disable-sync",
                 "--disable-component-update", "--disable-default-apps"]:
    options.add_argument(argument)
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
driver.set_script_timeout(60)
# Resolves once the rows are there and two frames have been painted after it.
UNTIL_RENDERED = """
const [count, done] = arguments;
function check() {
  if (document.querySelectorAll('table.servers tr[data-server]').length >= count) {
    requestAnimationFrame(() => requestAnimationFrame(() => done(performance.now())));
  } else {
    requestAnimationFrame(check);
  }
}
check();
"""
REDRAW = "const start = performance.now(); render(); return performance.now() - start;"
try:
    loads, redraws = [], []
    page = None
    for round in range(rounds):
        driver.get(login_url if page is None else page)
        page = driver.current_url
        loads.append(driver.execute_async_script(UNTIL_RENDERED, servers))
        redraws.extend(driver.execute_script(REDRAW) for _ in range(5))
    print(json.dumps({"loads": loads, "redraws": redraws}))
finally:
    driver.quit()
