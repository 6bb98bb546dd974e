# Peers of the composite action tests (crates/shipgate/tests/cli/actions.rs):
# the actions' scripts read the shipgate JSON output with jq, as on GitHub's
# runners, and the man page test renders pages with man.
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    jq curl man-db >/dev/null
