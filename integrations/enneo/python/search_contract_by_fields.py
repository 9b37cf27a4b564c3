# enneo searchContractByFieldsExecutor -> contract-search (Python 3.11, standard library only).
#
# Input (JSON on stdin): the fields enneo's AI extracted from a message, plus ticketId, e.g.
#                        {"contractId": "0030000417", "lastname": "Ebelstädt", "ticketId": "T-984058"}
# Output (stdout):       {"contractId": "...", "customerId": "..."} for one confident match, else {}.
#                        contract-search decides; this program passes its answer through unchanged.
# On a transport error, a rejected API key or a server error: a message on stderr and exit
# code 1, so that enneo sees a failed search, never a wrong answer.
import json
import os
import sys
import urllib.error
import urllib.request

# Settings (the environment variables CONTRACT_SEARCH_URL / CONTRACT_SEARCH_API_KEY override them).
BASE_URL = os.environ.get("CONTRACT_SEARCH_URL") or "https://contract-search.example.com"
API_KEY = os.environ.get("CONTRACT_SEARCH_API_KEY") or "PASTE-YOUR-SEARCH-KEY-HERE"
TIMEOUT_SECONDS = 5


def read_input():
    """enneo's executor input: JSON on stdin. If enneo passes it differently, adapt this only."""
    try:
        return json.loads(sys.stdin.buffer.read())
    except ValueError as error:
        fail(f"the input is not JSON: {error}")


def fail(message):
    print(f"search_contract_by_fields: {message}", file=sys.stderr)
    sys.exit(1)


def call(method, path, body=None):
    """One contract-search call: (HTTP status, raw body, parsed JSON). Fails on transport errors."""
    data = None if body is None else json.dumps(body).encode()
    headers = {"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"}
    request = urllib.request.Request(BASE_URL.rstrip("/") + path, data, headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            status, text = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read()
    except OSError as error:  # refused, DNS, TLS, timeout
        fail(f"cannot reach {BASE_URL}: {error}")
    try:
        return status, text, json.loads(text)
    except ValueError:
        fail(f"HTTP {status} without a JSON body")


request = read_input()
if not isinstance(request, dict):
    fail("the input is not a JSON object")
status, text, body = call("POST", "/v1/search/fields", request)  # the input as it is, unknown keys too
if status == 200 and isinstance(body, dict):
    sys.stdout.buffer.write(text + b"\n")  # the answer as contract-search wrote it
else:
    fail(f"HTTP {status}: {text.decode(errors='replace')}")
