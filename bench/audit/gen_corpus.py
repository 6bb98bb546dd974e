#!/usr/bin/env python3
"""Deterministic generator of a varied corpus of GitHub Actions workflows.

Writes N workflows to OUT/.github/workflows/ and a few composite actions to
OUT/.github/actions/*/action.yml. Same seed, same bytes. Mix: CI for node,
python, rust and go (with matrices), npm/PyPI/cargo/gem publishing (single-job
and split, tokens and trusted publishing), docker pushes, GitHub releases,
reusable workflows and their callers, pull_request_target/workflow_run jobs,
issue triage with and without template injection, scheduled jobs; pinned
(with and without version comments) and unpinned `uses:`, with and without
root permissions and concurrency.

usage: gen_corpus.py OUT [N] [SEED]
"""
import os
import random
import sys

OUT = sys.argv[1]
N = int(sys.argv[2]) if len(sys.argv) > 2 else 600
SEED = int(sys.argv[3]) if len(sys.argv) > 3 else 20260601
rng = random.Random(SEED)

ACTIONS = {
    "checkout": ("actions/checkout", "v4", "4.2.2"),
    "setup-node": ("actions/setup-node", "v4", "4.4.0"),
    "setup-python": ("actions/setup-python", "v5", "5.6.0"),
    "setup-go": ("actions/setup-go", "v5", "5.5.0"),
    "cache": ("actions/cache", "v4", "4.2.3"),
    "upload": ("actions/upload-artifact", "v4", "4.6.2"),
    "download": ("actions/download-artifact", "v4", "4.3.0"),
    "pypi": ("pypa/gh-action-pypi-publish", "release/v1", "1.12.4"),
    "rust": ("dtolnay/rust-toolchain", "stable", None),
    "rust-cache": ("Swatinem/rust-cache", "v2", "2.7.8"),
    "docker-login": ("docker/login-action", "v3", "3.4.0"),
    "docker-build": ("docker/build-push-action", "v6", "6.18.0"),
    "buildx": ("docker/setup-buildx-action", "v3", "3.10.0"),
    "gh-release": ("softprops/action-gh-release", "v2", "2.2.2"),
    "github-script": ("actions/github-script", "v7", "7.0.1"),
    "stale": ("actions/stale", "v9", "9.1.0"),
    "labeler": ("actions/labeler", "v5", "5.0.0"),
    "codecov": ("codecov/codecov-action", "v5", "5.4.3"),
    "crates-auth": ("rust-lang/crates-io-auth-action", "v1", "1.0.1"),
    "setup-ruby": ("ruby/setup-ruby", "v1", "1.245.0"),
    "release-please": ("googleapis/release-please-action", "v4", "4.2.0"),
}
SHAS = {}


def sha(name):
    if name not in SHAS:
        SHAS[name] = "".join(rng.choice("0123456789abcdef") for _ in range(40))
    return SHAS[name]


class Style:
    """How one workflow writes its `uses:` references."""

    def __init__(self):
        self.mode = rng.choices(["tag", "sha-comment", "sha-bare", "mixed", "branch"], [40, 30, 8, 18, 4])[0]

    def uses(self, key):
        repo, tag, version = ACTIONS[key]
        mode = self.mode
        if mode == "mixed":
            mode = rng.choice(["tag", "sha-comment", "sha-bare"])
        if mode == "branch":
            mode = rng.choice(["tag", "branch"])
            if mode == "branch":
                return f"{repo}@main"
        if mode == "tag" or version is None:
            return f"{repo}@{tag}"
        if mode == "sha-comment":
            return f"{repo}@{sha(repo)} # v{version}"
        return f"{repo}@{sha(repo)}"


def header(name, on, root_perms, concurrency):
    out = [f"name: {name}", "", on.rstrip("\n"), ""]
    if root_perms is not None:
        out += [root_perms.rstrip("\n"), ""]
    if concurrency:
        out += [concurrency.rstrip("\n"), ""]
    out.append("jobs:")
    return "\n".join(out) + "\n"


def root_permissions():
    return rng.choices(
        [None, "permissions: {}", "permissions:\n  contents: read", "permissions:\n  contents: write",
         "permissions:\n  contents: read\n  id-token: write", "permissions: write-all", "permissions: read-all"],
        [30, 25, 20, 8, 8, 4, 5])[0]


def concurrency():
    return rng.choices(
        [None,
         "concurrency:\n  group: ${{ github.workflow }}-${{ github.ref }}\n  cancel-in-progress: true",
         "concurrency:\n  group: ${{ github.workflow }}-${{ github.ref }}\n  cancel-in-progress: ${{ github.ref != format('refs/heads/{0}', github.event.repository.default_branch) }}",
         "concurrency: ${{ github.workflow }}-${{ github.ref }}",
         "concurrency:\n  group: ci-${{ github.event.pull_request.number || github.sha }}\n  cancel-in-progress: ${{ github.event_name == 'pull_request' }}"],
        [40, 30, 10, 10, 10])[0]


def push_on(branches=("main",)):
    b = ", ".join(branches)
    return rng.choice([
        f"on:\n  push:\n    branches: [{b}]\n  pull_request:",
        f"on:\n  push:\n    branches:\n      - {branches[0]}\n  pull_request:\n    branches:\n      - {branches[0]}",
        "on: [push, pull_request]",
        f"on:\n  push:\n    branches: [{b}]\n    paths-ignore:\n      - 'docs/**'\n  pull_request:\n  workflow_dispatch:",
    ])


def tag_on():
    return rng.choice([
        "on:\n  push:\n    tags:\n      - 'v*'",
        "on:\n  push:\n    tags: ['v*.*.*']",
        "on:\n  release:\n    types: [published]",
        "on:\n  release:\n    types: [published]\n  workflow_dispatch:",
    ])


def job_perms(indent, lines):
    if not lines:
        return ""
    pad = " " * indent
    return f"{pad}permissions:\n" + "".join(f"{pad}  {l}\n" for l in lines)


def node_ci(st):
    versions = rng.choice(["[18, 20, 22]", "[20.x, 22.x]", "['lts/*', 'latest']"])
    install = rng.choice(["npm ci", "npm install", "yarn install --frozen-lockfile", "pnpm install --frozen-lockfile"])
    test = rng.choice(["npm test", "npm run test:ci", "yarn test", "pnpm test"])
    extra = ""
    if rng.random() < 0.3:
        extra = f"      - uses: {st.uses('codecov')}\n        with:\n          token: ${{{{ secrets.CODECOV_TOKEN }}}}\n"
    return header("CI", push_on(), root_permissions(), concurrency()) + f"""  test:
    runs-on: ${{{{ matrix.os }}}}
    strategy:
      fail-fast: false
      matrix:
        os: [ubuntu-latest, windows-latest]
        node: {versions}
    steps:
      - uses: {st.uses('checkout')}
      - uses: {st.uses('setup-node')}
        with:
          node-version: ${{{{ matrix.node }}}}
          cache: npm
      - run: {install}
      - run: npm run lint --if-present
      - run: {test}
{extra}"""


def python_ci(st):
    return header("tests", push_on(), root_permissions(), concurrency()) + f"""  tests:
    runs-on: ubuntu-latest
    strategy:
      matrix:
        python-version: ["3.9", "3.10", "3.11", "3.12", "3.13"]
    steps:
      - uses: {st.uses('checkout')}
      - name: Set up Python ${{{{ matrix.python-version }}}}
        uses: {st.uses('setup-python')}
        with:
          python-version: ${{{{ matrix.python-version }}}}
      - name: Install
        run: |
          python -m pip install --upgrade pip
          pip install -e '.[test]'
      - name: Test
        run: pytest -q --cov
"""


def rust_ci(st):
    return header("Rust", push_on(), root_permissions(), concurrency()) + f"""  check:
    runs-on: ubuntu-latest
    steps:
      - uses: {st.uses('checkout')}
      - uses: {st.uses('rust')}
        with:
          components: clippy, rustfmt
      - uses: {st.uses('rust-cache')}
      - run: cargo fmt --all -- --check
      - run: cargo clippy --all-targets -- -D warnings
      - run: cargo test --workspace
"""


def go_ci(st):
    return header("Go", push_on(), root_permissions(), concurrency()) + f"""  build:
    runs-on: ubuntu-latest
    steps:
      - uses: {st.uses('checkout')}
      - uses: {st.uses('setup-go')}
        with:
          go-version-file: go.mod
      - run: go vet ./...
      - run: go test -race ./...
      - run: make build
"""


def npm_release(st):
    variant = rng.choice(["single-oidc", "single-token", "split", "split-token"])
    on = tag_on()
    root = rng.choice([None, "permissions: {}", "permissions:\n  contents: read"])
    env = rng.choice(["", "    environment: npm\n", "    environment:\n      name: release\n"])
    if variant.startswith("single"):
        auth = "      id-token: write\n" if variant == "single-oidc" else ""
        token_env = "        env:\n          NODE_AUTH_TOKEN: ${{ secrets.NPM_TOKEN }}\n" if variant == "single-token" else ""
        install = rng.choice(["npm ci", "npm ci --ignore-scripts"])
        publish = rng.choice(["npm publish --provenance --access public", "npm publish", "npm stage publish"])
        return header("Release", on, root, None) + f"""  publish:
    runs-on: ubuntu-latest
{env}    permissions:
      contents: read
{auth}    steps:
      - uses: {st.uses('checkout')}
      - uses: {st.uses('setup-node')}
        with:
          node-version: 22
          registry-url: https://registry.npmjs.org
      - run: {install}
      - run: npm test
      - run: {publish}
{token_env}"""
    token = variant == "split-token"
    perms = "" if token else "      id-token: write\n"
    token_env = "        env:\n          NODE_AUTH_TOKEN: ${{ secrets.NPM_TOKEN }}\n" if token else ""
    return header("release", on, root, None) + f"""  pack:
    runs-on: ubuntu-latest
    permissions:
      contents: read
    steps:
      - uses: {st.uses('checkout')}
      - uses: {st.uses('setup-node')}
        with:
          node-version: latest
      - run: npm ci
      - run: npm test
      - run: npm pack --pack-destination ./tarball
      - uses: {st.uses('upload')}
        with:
          name: npm-tarball
          path: ./tarball/*.tgz

  publish:
    needs: pack
    runs-on: ubuntu-latest
{env}    permissions:
{perms}      contents: read
    steps:
      - uses: {st.uses('setup-node')}
        with:
          node-version: latest
      - uses: {st.uses('download')}
        with:
          name: npm-tarball
          path: ./tarball
      - run: npm publish ./tarball/*.tgz
{token_env}"""


def pypi_release(st):
    variant = rng.choice(["single", "split", "twine", "poetry-token"])
    on = rng.choice([tag_on(), push_on()])
    root = root_permissions()
    if variant == "single":
        return header("Publish", on, root, concurrency()) + f"""  publish:
    runs-on: ubuntu-latest
    permissions:
      id-token: write
    steps:
      - uses: {st.uses('checkout')}
      - uses: {st.uses('setup-python')}
        with:
          python-version: "3.12"
      - run: pip install build
      - run: python -m build
      - uses: {st.uses('pypi')}
"""
    if variant == "twine":
        return header("Upload Python Package", on, root, None) + f"""  deploy:
    runs-on: ubuntu-latest
    steps:
      - uses: {st.uses('checkout')}
      - uses: {st.uses('setup-python')}
        with:
          python-version: '3.x'
      - name: Install dependencies
        run: |
          python -m pip install --upgrade pip
          pip install build twine
      - name: Build and publish
        env:
          TWINE_USERNAME: __token__
          TWINE_PASSWORD: ${{{{ secrets.PYPI_API_TOKEN }}}}
        run: |
          python -m build
          twine upload dist/*
"""
    if variant == "poetry-token":
        return header("release", on, root, None) + f"""  release:
    runs-on: ubuntu-latest
    environment: pypi
    steps:
      - uses: {st.uses('checkout')}
      - uses: {st.uses('setup-python')}
        with:
          python-version: "3.11"
      - run: pip install poetry
      - run: poetry config pypi-token.pypi ${{{{ secrets.PYPI_TOKEN }}}}
      - run: poetry publish --build
"""
    env = rng.choice(["    environment: pypi\n", "    environment:\n      name: pypi\n      url: https://pypi.org/p/example\n", ""])
    return header("ci", on, root, concurrency()) + f"""  build:
    runs-on: ubuntu-latest
    permissions:
      contents: read
    steps:
      - uses: {st.uses('checkout')}
      - uses: {st.uses('setup-python')}
        with:
          python-version: "3.12"
      - run: pip install build && python -m build
      - uses: {st.uses('upload')}
        with:
          name: dist
          path: dist/

  publish:
    needs: build
    runs-on: ubuntu-latest
{env}    permissions:
      id-token: write
    steps:
      - uses: {st.uses('download')}
        with:
          name: dist
          path: dist/
      - uses: {st.uses('pypi')}
"""


def cargo_release(st):
    tp = rng.random() < 0.4
    if tp:
        body = f"""      - uses: {st.uses('crates-auth')}
        id: auth
      - run: cargo publish
        env:
          CARGO_REGISTRY_TOKEN: ${{{{ steps.auth.outputs.token }}}}
"""
        perms = "    permissions:\n      id-token: write\n"
    else:
        body = """      - run: cargo publish --locked
        env:
          CARGO_REGISTRY_TOKEN: ${{ secrets.CARGO_REGISTRY_TOKEN }}
"""
        perms = ""
    return header("Publish crate", tag_on(), root_permissions(), None) + f"""  publish:
    runs-on: ubuntu-latest
{perms}    steps:
      - uses: {st.uses('checkout')}
      - uses: {st.uses('rust')}
{body}"""


def gem_release(st):
    return header("Release gem", tag_on(), root_permissions(), None) + f"""  push:
    runs-on: ubuntu-latest
    steps:
      - uses: {st.uses('checkout')}
      - uses: {st.uses('setup-ruby')}
        with:
          bundler-cache: true
      - run: bundle exec rake build
      - run: gem push pkg/*.gem
        env:
          GEM_HOST_API_KEY: ${{{{ secrets.RUBYGEMS_API_KEY }}}}
"""


def docker(st):
    return header("Docker", rng.choice([push_on(), tag_on()]), root_permissions(), concurrency()) + f"""  image:
    runs-on: ubuntu-latest
    permissions:
      contents: read
      packages: write
    steps:
      - uses: {st.uses('checkout')}
      - uses: {st.uses('buildx')}
      - uses: {st.uses('docker-login')}
        with:
          registry: ghcr.io
          username: ${{{{ github.actor }}}}
          password: ${{{{ secrets.GITHUB_TOKEN }}}}
      - uses: {st.uses('docker-build')}
        with:
          context: .
          push: ${{{{ github.event_name != 'pull_request' }}}}
          tags: ghcr.io/${{{{ github.repository }}}}:${{{{ github.sha }}}}
"""


def gh_release(st):
    return header("Release", tag_on(), rng.choice([None, "permissions:\n  contents: write"]), None) + f"""  release:
    runs-on: ubuntu-latest
    steps:
      - uses: {st.uses('checkout')}
      - run: make dist
      - uses: {st.uses('gh-release')}
        with:
          files: dist/*
      - run: gh release upload "${{{{ github.ref_name }}}}" dist/*.tar.gz --clobber
        env:
          GH_TOKEN: ${{{{ github.token }}}}
"""


def reusable_def(st):
    return header("Reusable build", "on:\n  workflow_call:\n    inputs:\n      target:\n        type: string\n        required: true\n    secrets:\n      DEPLOY_KEY:\n        required: false", root_permissions(), None) + f"""  build:
    runs-on: ubuntu-latest
    steps:
      - uses: {st.uses('checkout')}
      - run: make ${{{{ inputs.target }}}}
      - run: ./scripts/deploy.sh
        env:
          DEPLOY_KEY: ${{{{ secrets.DEPLOY_KEY }}}}
"""


def reusable_call(st):
    ref = rng.choice(["@main", "@v1", "@" + sha("org/shared-workflows") + " # v1.4.0"])
    return header("Caller", push_on(), root_permissions(), None) + f"""  call-build:
    uses: org/shared-workflows/.github/workflows/build.yml{ref}
    with:
      target: release
    secrets: inherit
  call-local:
    uses: ./.github/workflows/reusable.yml
    with:
      target: test
"""


def prt(st):
    variant = rng.choice(["labeler", "pwn", "data-only", "workflow-run"])
    if variant == "labeler":
        return header("Labeler", "on: pull_request_target", rng.choice([None, "permissions: {}"]), None) + f"""  label:
    runs-on: ubuntu-latest
    permissions:
      contents: read
      pull-requests: write
    steps:
      - uses: {st.uses('labeler')}
"""
    if variant == "pwn":
        return header("PR preview", "on:\n  pull_request_target:\n    types: [opened, synchronize]", None, None) + f"""  preview:
    runs-on: ubuntu-latest
    steps:
      - uses: {st.uses('checkout')}
        with:
          ref: ${{{{ github.event.pull_request.head.sha }}}}
      - run: npm ci && npm run build
      - run: ./scripts/deploy-preview.sh
        env:
          PREVIEW_TOKEN: ${{{{ secrets.PREVIEW_TOKEN }}}}
"""
    if variant == "data-only":
        return header("Check modules", "on: pull_request_target", "permissions: {}", None) + f"""  check:
    runs-on: ubuntu-latest
    permissions:
      contents: read
      pull-requests: write
    steps:
      - uses: {st.uses('checkout')}
      - uses: {st.uses('checkout')}
        with:
          ref: ${{{{ github.event.pull_request.head.sha }}}}
          path: pr
      - run: python scripts/check.py --tree pr/
"""
    return header("Report", "on:\n  workflow_run:\n    workflows: [CI]\n    types: [completed]", None, None) + f"""  report:
    runs-on: ubuntu-latest
    steps:
      - uses: {st.uses('download')}
        with:
          run-id: ${{{{ github.event.workflow_run.id }}}}
          github-token: ${{{{ secrets.GITHUB_TOKEN }}}}
      - run: echo "Run for ${{{{ github.event.workflow_run.head_branch }}}}"
"""


def triage(st):
    unsafe = rng.random() < 0.5
    if unsafe:
        body = """      - run: |
          echo "New issue: ${{ github.event.issue.title }}"
          echo "${{ github.event.issue.body }}" | grep -qi bug && echo bug=true >> "$GITHUB_OUTPUT"
"""
    else:
        body = """      - env:
          TITLE: ${{ github.event.issue.title }}
        run: echo "New issue - $TITLE"
"""
    script = ""
    if rng.random() < 0.4:
        script = f"""      - uses: {st.uses('github-script')}
        with:
          script: |
            const title = "${{{{ github.event.issue.title }}}}";
            await github.rest.issues.addLabels({{owner: context.repo.owner, repo: context.repo.repo, issue_number: context.issue.number, labels: ['triage']}});
"""
    return header("Triage", "on:\n  issues:\n    types: [opened]\n  issue_comment:", rng.choice([None, "permissions:\n  issues: write"]), None) + f"""  triage:
    runs-on: ubuntu-latest
    steps:
{body}{script}"""


def stale(st):
    return header("Stale", "on:\n  schedule:\n    - cron: '30 1 * * *'", rng.choice([None, "permissions:\n  issues: write\n  pull-requests: write"]), None) + f"""  stale:
    runs-on: ubuntu-latest
    steps:
      - uses: {st.uses('stale')}
        with:
          days-before-stale: 60
"""


def release_please(st):
    return header("release-please", "on:\n  push:\n    branches: [main]", rng.choice([None, "permissions:\n  contents: write\n  pull-requests: write"]), None) + f"""  release-please:
    runs-on: ubuntu-latest
    outputs:
      release_created: ${{{{ steps.rp.outputs.release_created }}}}
    steps:
      - uses: {st.uses('release-please')}
        id: rp
  publish:
    needs: release-please
    if: ${{{{ needs.release-please.outputs.release_created }}}}
    runs-on: ubuntu-latest
    permissions:
      id-token: write
      contents: read
    steps:
      - uses: {st.uses('checkout')}
      - uses: {st.uses('setup-node')}
        with:
          node-version: 20
      - run: npm ci
      - run: npm publish --provenance
"""


KINDS = [
    (node_ci, 16), (python_ci, 12), (rust_ci, 8), (go_ci, 6), (npm_release, 10), (pypi_release, 10),
    (cargo_release, 5), (gem_release, 3), (docker, 6), (gh_release, 5), (reusable_def, 3),
    (reusable_call, 4), (prt, 6), (triage, 6), (stale, 3), (release_please, 3),
]


def composite(i, st):
    return f"""name: setup-{i}
description: Shared setup
inputs:
  node-version:
    default: "20"
runs:
  using: composite
  steps:
    - uses: {st.uses('setup-node')}
      with:
        node-version: ${{{{ inputs.node-version }}}}
    - uses: {st.uses('cache')}
      with:
        path: ~/.npm
        key: npm-${{{{ hashFiles('**/package-lock.json') }}}}
    - run: npm ci
      shell: bash
    - run: echo "ref ${{{{ github.head_ref }}}}"
      shell: bash
"""


def main():
    wf_dir = os.path.join(OUT, ".github", "workflows")
    os.makedirs(wf_dir, exist_ok=True)
    funcs = [f for f, _ in KINDS]
    weights = [w for _, w in KINDS]
    for i in range(N):
        st = Style()
        kind = rng.choices(funcs, weights)[0]
        text = f"# generated corpus workflow {i:04d} ({kind.__name__})\n" + kind(st)
        with open(os.path.join(wf_dir, f"wf-{i:04d}.yml"), "w") as f:
            f.write(text)
    for i in range(max(1, N // 20)):
        d = os.path.join(OUT, ".github", "actions", f"setup-{i:02d}")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "action.yml"), "w") as f:
            f.write(composite(i, Style()))
    print(f"wrote {N} workflows and {max(1, N // 20)} composite actions to {OUT}")


main()
