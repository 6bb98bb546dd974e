# Registry peers for crates/shipgate-registry's tests: Verdaccio (npm), pypiserver
# (PyPI) and cargo-http-registry (cargo), plus `build` to make real wheels and sdists.
# Sourced by .ci/run (bash, set -euo pipefail, the CI virtual environment first on PATH).
# Each test starts its own server on a free loopback port in a temporary directory.

registry_peers="${SHIPGATE_REGISTRY_PEERS:-${TMPDIR:-/tmp}/shipgate-registry-peers}"
mkdir -p "$registry_peers"

# PyPI side: pypiserver with htpasswd uploads (passlib), and PyPA's `build`.
python -m pip install --quiet --disable-pip-version-check \
    'pypiserver==2.4.2' 'passlib==1.7.4' 'build==1.6.1' 'setuptools==84.2.1'
# The tests build wheels and sdists with `python -m build --no-isolation` (no downloads).
export SHIPGATE_PYTHON="$(command -v python)"

# npm side: Verdaccio 6.8.0 (the last release that runs on Node.js 20) in its own prefix.
if [ ! -x "$registry_peers/npm/node_modules/.bin/verdaccio" ]; then
    npm install --silent --no-audit --no-fund --prefix "$registry_peers/npm" verdaccio@6.8.0
fi
export SHIPGATE_VERDACCIO="$registry_peers/npm/node_modules/.bin/verdaccio"

# cargo side: cargo-http-registry serves its index as plain files, which cargo reads
# as a sparse index, and accepts `cargo publish`.
if [ ! -x "$registry_peers/cargo/bin/cargo-http-registry" ]; then
    # Its git2 dependency links OpenSSL (found through pkg-config).
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        pkg-config libssl-dev >/dev/null
    cargo install --quiet --root "$registry_peers/cargo" cargo-http-registry --version 0.1.8
fi
export SHIPGATE_CARGO_HTTP_REGISTRY="$registry_peers/cargo/bin/cargo-http-registry"
