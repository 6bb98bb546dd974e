"""schemathesis hooks for the API contract test: real credentials and ids.

Read from the environment (set by the test, see openapi_contract.rs):
SHIPGATE_GATE_URL, SHIPGATE_DEV_REQUEST_TOKEN (the dev issuer's token
endpoint), SHIPGATE_MAINTAINER_TOKEN, SHIPGATE_RELEASE_IDS (comma-separated
real ids), SHIPGATE_RELEASED (name/version/file of a released file).
"""

import itertools
import json
import os
import urllib.parse
import urllib.request

import schemathesis

GATE = os.environ["SHIPGATE_GATE_URL"]
REQUEST_TOKEN = os.environ["SHIPGATE_DEV_REQUEST_TOKEN"]
MAINTAINER = os.environ["SHIPGATE_MAINTAINER_TOKEN"]
IDS = os.environ["SHIPGATE_RELEASE_IDS"].split(",")
NAME, VERSION, FILE = os.environ["SHIPGATE_RELEASED"].split("/")
AUDIENCE = json.load(urllib.request.urlopen(GATE + "/v1/info"))["audience"]

# Every other request of an operation uses real data; the rest keep what
# schemathesis generated (deterministic, so a seed reproduces a run).
_turn = itertools.count()


def fresh_ci_token():
    """A new CI token from the dev issuer's GitHub-compatible endpoint (each
    token stages or asks for an execution token once)."""
    query = urllib.parse.urlencode({"audience": AUDIENCE})
    request = urllib.request.Request(
        f"{GATE}/dev-issuer/token?{query}",
        headers={"Authorization": f"Bearer {REQUEST_TOKEN}"},
    )
    return json.load(urllib.request.urlopen(request))["value"]


@schemathesis.auth(refresh_interval=None).apply_to(
    path_regex=r"^/v1/(packages/\{name\}/versions/\{version\}|releases/\{id\}/execution-token)$"
)
class CiToken:
    def get(self, case, context):
        return fresh_ci_token()

    def set(self, case, data, context):
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"


@schemathesis.auth().apply_to(path_regex=r"^/v1/releases/\{id\}/(approve|reject)$")
class Maintainer:
    def get(self, case, context):
        return MAINTAINER

    def set(self, case, data, context):
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"


@schemathesis.hook
def map_path_parameters(context, path_parameters):
    turn = next(_turn)
    if path_parameters is None or turn % 2:
        return path_parameters
    if "id" in path_parameters:
        path_parameters["id"] = IDS[(turn // 2) % len(IDS)]
    if "name" in path_parameters:
        path_parameters["name"] = NAME
    if "version" in path_parameters:
        path_parameters["version"] = VERSION
    if "file" in path_parameters:
        path_parameters["file"] = FILE
    return path_parameters
