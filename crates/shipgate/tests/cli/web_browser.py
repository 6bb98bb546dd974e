"""Drives the gate's review pages in Debian's Chromium with a virtual
WebAuthn authenticator (WebDriver's extension, through selenium).

Usage: web_browser.py GATE_URL WORK_DIR SHIPGATE_BIN GATE_DIR RELEASE_A RELEASE_B
with the maintainers' one-time enrolment links as JSON on stdin
({"alice": url, ...}). Prints one JSON line with what it saw; exits non-zero
(with the reason on stderr) as soon as something is not as expected.
"""

import base64
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import (
    NoSuchElementException,
    StaleElementReferenceException,
    WebDriverException,
)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.virtual_authenticator import (
    Credential,
    Protocol,
    Transport,
    VirtualAuthenticatorOptions,
)
from selenium.webdriver.support.ui import WebDriverWait

url, work, shipgate, gate_dir, release_a, release_b = sys.argv[1:7]
links = json.load(sys.stdin)
chromium = os.environ.get("SHIPGATE_CHROMIUM", "/usr/bin/chromium")
chromedriver = os.environ.get("SHIPGATE_CHROMEDRIVER", "/usr/bin/chromedriver")
report = {}


def fail(message):
    print("browser test: " + message, file=sys.stderr)
    sys.exit(1)


def check(condition, message):
    if not condition:
        fail(message)


options = webdriver.ChromeOptions()
options.binary_location = chromium
for flag in [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=360,1400",
    "--user-data-dir=" + os.path.join(work, "chromium-profile"),
]:
    options.add_argument(flag)
driver = webdriver.Chrome(
    service=Service(
        executable_path=chromedriver, log_output=os.path.join(work, "chromedriver.log")
    ),
    options=options,
)
driver.set_script_timeout(30)
# A page that reloads under the wait makes its elements stale, or the driver
# answers that the page's context is gone mid-navigation: look again.
wait = WebDriverWait(
    driver,
    30,
    ignored_exceptions=(
        NoSuchElementException,
        StaleElementReferenceException,
        WebDriverException,
    ),
)


def status_text():
    return driver.find_element(By.ID, "status").text


def wait_status(needle):
    try:
        wait.until(lambda d: needle in d.find_element(By.ID, "status").text)
    except Exception:
        fail("waited for %r in the status line, saw %r" % (needle, status_text()))


def js_post(path, body, csrf=True):
    """POST from the page's own origin (the script's helper); returns
    {"ok": bool, "status": int, "body": ...}."""
    return driver.execute_async_script(
        """
        const [path, body, csrf, done] = arguments;
        const headers = {"Content-Type": "application/json"};
        if (csrf) headers["X-Shipgate-CSRF"] = document.querySelector('meta[name="shipgate-csrf"]').content;
        fetch(path, {method: "POST", credentials: "same-origin", headers, body: JSON.stringify(body)})
          .then(async r => done({ok: r.ok, status: r.status, body: await r.json().catch(() => null)}))
          .catch(e => done({ok: false, status: 0, body: String(e)}));
        """,
        path,
        body,
        csrf,
    )


def js_sign(options):
    """Signs WebAuthn request options with the virtual authenticator."""
    return driver.execute_async_script(
        """
        const [options, done] = arguments;
        window.shipgatePasskey.assert(options).then(done).catch(e => done({error: String(e)}));
        """,
        options,
    )


try:
    authenticator = VirtualAuthenticatorOptions(
        protocol=Protocol.CTAP2,
        transport=Transport.INTERNAL,
        has_resident_key=True,
        has_user_verification=True,
        is_user_consenting=True,
        is_user_verified=True,
    )
    driver.add_virtual_authenticator(authenticator)

    # Enrolment by the one-time links.
    credentials = {}
    for name in sorted(links):
        before = {c.id for c in driver.get_credentials()}
        driver.get(links[name])
        check("Register a passkey" in driver.title, "enrolment page for %s: %r" % (name, driver.title))
        driver.find_element(By.CSS_SELECTOR, "#enrol button").click()
        wait_status("Passkey registered for " + name)
        new = [c for c in driver.get_credentials() if c.id not in before]
        check(len(new) == 1, "%s: expected one new credential, got %d" % (name, len(new)))
        credentials[name] = new[0].id.rstrip("=")
    # A link works once.
    driver.get(links["alice"])
    check("Not Found" in driver.title, "a used enrolment link still opens: %r" % driver.title)
    report["enrolled"] = sorted(credentials)

    def sign_in(name):
        driver.delete_all_cookies()
        driver.get(url + "/signin")
        field = driver.find_element(By.ID, "maintainer")
        field.clear()
        field.send_keys(name)
        driver.find_element(By.CSS_SELECTOR, "#signin button").click()
        try:
            wait.until(lambda d: "Signed in as" in d.page_source)
        except Exception:
            fail("sign-in of %s did not finish: %r" % (name, status_text()))

    # A revoked credential is refused.
    sign_in("carol")
    # The log's spelling of a credential id: base64url without padding.
    cred_id = credentials["carol"].rstrip("=")
    out = subprocess.run(
        [shipgate, "admin", "revoke", "carol", "--passkey", cred_id, "--config", "gate.toml"],
        cwd=gate_dir,
        capture_output=True,
        text=True,
    )
    check(out.returncode == 0, "admin revoke --passkey: %s%s" % (out.stdout, out.stderr))
    driver.get(url + "/releases/" + release_a)
    answer = js_post("/releases/%s/decision/options" % release_a, {"decision": "approve"})
    check(answer["status"] == 403, "carol's revoked passkey was not refused: %r" % answer)
    driver.find_element(By.CSS_SELECTOR, "#approve button").click()
    wait_status("refused")
    report["revoked_refused"] = True

    # Alice reviews release A: the install-script warning is there.
    sign_in("alice")
    driver.get(url + "/releases/" + release_a)
    warning = driver.find_element(By.ID, "install-script-warning")
    check(warning.is_displayed(), "the install-script warning is not visible")
    check("postinstall" in warning.text, "the warning does not name the script: %r" % warning.text)
    shot = os.path.join(work, "release-page.png")
    driver.save_screenshot(shot)
    report["screenshot"] = shot

    # The staged file downloads for a signed-in maintainer, and only for them.
    link = driver.find_element(By.CSS_SELECTOR, "a[download]").get_attribute("href")
    got = driver.execute_async_script(
        """
        const [href, done] = arguments;
        fetch(href, {credentials: "same-origin"}).then(async r => done({
          status: r.status, size: (await r.arrayBuffer()).byteLength,
          disposition: r.headers.get("content-disposition")}));
        """,
        link,
    )
    check(
        got["status"] == 200 and got["size"] > 100 and got["disposition"] == "attachment",
        "staged download: %r" % got,
    )
    try:
        urllib.request.urlopen(link)
        fail("a staged file downloaded without a session")
    except urllib.error.HTTPError as e:
        check(e.code == 403, "anonymous staged download answered %d" % e.code)
    report["staged_download"] = True

    # CSRF: a POST without the token is refused.
    answer = js_post("/releases/%s/decision/options" % release_a, {"decision": "approve"}, csrf=False)
    check(answer["status"] == 403, "a POST without CSRF token was accepted: %r" % answer)
    # Cross-origin: the session cookie and the right CSRF token, from another origin.
    session = driver.get_cookie("shipgate_session")["value"]
    token = driver.find_element(By.CSS_SELECTOR, 'meta[name="shipgate-csrf"]').get_attribute("content")
    for origin, site in [("http://evil.example", "cross-site"), (url, "cross-site")]:
        request = urllib.request.Request(
            url + "/releases/%s/decision/options" % release_a,
            data=json.dumps({"decision": "approve"}).encode(),
            method="POST",
            headers={
                "Content-Type": "application/json",
                "Cookie": "shipgate_session=" + session,
                "X-Shipgate-CSRF": token,
                "Origin": origin,
                "Sec-Fetch-Site": site,
            },
        )
        try:
            urllib.request.urlopen(request)
            fail("a cross-origin POST (%s, %s) was accepted" % (origin, site))
        except urllib.error.HTTPError as e:
            check(e.code == 403, "cross-origin POST answered %d" % e.code)
    report["csrf_and_cross_origin_refused"] = True

    # An assertion for release B presented for release A is refused.
    b = js_post("/releases/%s/decision/options" % release_b, {"decision": "approve"})
    check(b["ok"], "options for release B: %r" % b)
    a = js_post("/releases/%s/decision/options" % release_a, {"decision": "approve"})
    check(a["ok"], "options for release A: %r" % a)
    signed_b = js_sign(b["body"]["options"])
    check("error" not in signed_b, "signing B: %r" % signed_b)
    moved = js_post(
        "/releases/%s/decision/finish" % release_a,
        {"ceremony": a["body"]["ceremony"], "credential": signed_b},
    )
    check(moved["status"] == 403, "an assertion for release B was accepted for A: %r" % moved)
    # ... and under B's own ceremony sent to A.
    moved = js_post(
        "/releases/%s/decision/finish" % release_a,
        {"ceremony": b["body"]["ceremony"], "credential": signed_b},
    )
    check(moved["status"] == 403, "B's ceremony was accepted for A: %r" % moved)
    report["other_release_refused"] = True

    # Alice approves A (1 of 2); the same assertion replayed is refused.
    a = js_post("/releases/%s/decision/options" % release_a, {"decision": "approve"})
    signed = js_sign(a["body"]["options"])
    body = {"ceremony": a["body"]["ceremony"], "credential": signed}
    first = js_post("/releases/%s/decision/finish" % release_a, body)
    check(first["ok"] and first["body"]["state"] == "staged", "alice's approval: %r" % first)
    replay = js_post("/releases/%s/decision/finish" % release_a, body)
    check(replay["status"] == 403, "a replayed assertion was accepted: %r" % replay)
    report["replay_refused"] = True

    # A cloned authenticator (its signature counter went back) is refused.
    cred = next(c for c in driver.get_credentials() if c.id.rstrip("=") == credentials["alice"])
    check(cred.sign_count > 0, "the virtual authenticator keeps no counter")
    clone = cred.to_dict()
    clone["signCount"] = 0
    driver.remove_credential(bytearray(base64.urlsafe_b64decode(cred.id)))
    driver.add_credential(Credential.from_dict(clone))
    b = js_post("/releases/%s/decision/options" % release_b, {"decision": "approve"})
    signed = js_sign(b["body"]["options"])
    cloned = js_post(
        "/releases/%s/decision/finish" % release_b,
        {"ceremony": b["body"]["ceremony"], "credential": signed},
    )
    check(cloned["status"] == 403, "an assertion with a counter that went back was accepted: %r" % cloned)
    report["counter_refused"] = True

    # Refused assertions count like wrong TOTP codes (the moved one and the clone's).
    out = subprocess.run(
        [shipgate, "admin", "status", "alice", "--json", "--config", "gate.toml"],
        cwd=gate_dir,
        capture_output=True,
        text=True,
    )
    check(out.returncode == 0, "admin status: %s%s" % (out.stdout, out.stderr))
    failures = json.loads(out.stdout)["maintainers"][0]["failures"]
    check(failures["recent"] == 2, "alice's refused assertions counted: %r" % failures)
    report["failures_counted"] = failures["recent"]

    # Bob approves A with the page's button: quorum 2 met, released.
    sign_in("bob")
    driver.get(url + "/releases/" + release_a)
    driver.find_element(By.CSS_SELECTOR, "#approve button").click()
    try:
        wait.until(lambda d: "released" in d.find_element(By.CSS_SELECTOR, "h1").text)
    except Exception:
        fail("release A was not released after bob's approval: %r" % status_text())
    report["released"] = release_a

    # Bob rejects B with a reason, with the page's form.
    driver.get(url + "/releases/" + release_b)
    driver.find_element(By.ID, "reason").send_keys("not this one <b>ok</b>")
    driver.find_element(By.CSS_SELECTOR, "#reject button").click()
    try:
        wait.until(lambda d: "rejected" in d.find_element(By.CSS_SELECTOR, "h1").text)
    except Exception:
        fail("release B was not rejected: %r" % status_text())
    check("not this one <b>ok</b>" in driver.find_element(By.ID, "content").text, "the reason is not shown as text")
    report["rejected"] = release_b
    report["credentials"] = credentials
finally:
    driver.quit()

print(json.dumps(report, default=str))
