# Peers for the review pages and passkeys (crates/shipgate/tests/cli/web_browser.rs):
# Debian's Chromium and chromedriver (driven over WebDriver with a virtual
# authenticator; nothing downloads a browser), selenium in the CI virtual
# environment, and OpenSSL's headers for webauthn-rs.
# Sourced by .ci/run (bash, set -euo pipefail, the CI virtual environment first on PATH).
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null \
    || ! dpkg -s libssl-dev >/dev/null 2>&1 || ! command -v pkg-config >/dev/null; then
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        chromium chromium-driver libssl-dev pkg-config >/dev/null
fi
python -m pip install --quiet --disable-pip-version-check 'selenium==4.51.0'
export SHIPGATE_CHROMIUM="$(command -v chromium)"
export SHIPGATE_CHROMEDRIVER="$(command -v chromedriver)"
