#!/usr/bin/env python3
"""Replays the requests of the MDE Indicators API clients people already run (issue 16).

Usage: replay.py SERVER_URL CA_FILE ADMIN_TOKEN

Each case sends one call of one client exactly as that client sends it (method, path, query
string byte for byte, JSON body, Content-Type) and checks what that client relies on in the
answer. It prints one line per case, `ok` or `FAIL <why>`, and exits 1 if any case failed.

The clients:
- `mde-client` 0.4.0 (PyPI). It requires Python >= 3.14, which no registry offers this machine
  (Debian 12 has Python 3.11), so its requests are replayed as its source builds them and as
  httpx 0.28 (which it requires) encodes them: query keys and values percent-encoded with no safe
  characters (`$filter` becomes `%24filter`, a space `%20`), compact JSON. It reads every
  indicator into the typed Arrow columns of its `INDICATOR_SCHEMA`.
- OpenCTI's Microsoft Defender Intel stream connector (requests): OpenCTI-Platform/connectors,
  stream/microsoft-defender-intel/src/microsoft_defender_intel_connector/api_handler.py at
  1696e71fc0a8701aba7ebcc341671ae27dddf0af (`utils.py` at d8e39a9fd5120ae289c7d7884fe2639bbc8ea853,
  `settings.py` for the defaults: resource_path `/api/indicators`, expire_time 30 days).
- misp2defender (requests): cudeso/misp2defender, misp2defender.py at
  048eb3e1714f091cddf8a79150c2405b96020273, RequestObject.py at
  08f9bc61ebb7f2faa4f625aa44d9298a93335b32, config.py.default at
  279f9af1f17fd3e7c62e4b32dc0aa066ccdc56f3.

TLS: the connection verifies the server with `ssl.create_default_context(cafile=CA_FILE)` plus
`ssl.VERIFY_X509_STRICT`, as Python 3.13 and later do by default (and so requests, httpx and
mde-client there). The first case is that handshake alone. If it fails, that case fails and the
other cases still run without the strict flag, so that each incompatibility shows in its own
case instead of every case failing on the certificate.

Python 3.11 standard library only: CI installs nothing. The server should be fresh (the Rust
wrapper, tests/mde_clients.rs, starts one); the values are documentation addresses (RFC 5737).
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import sys
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timedelta, timezone

# ---------------------------------------------------------------------------------------------
# How each client talks HTTP.

# httpx 0.28 (mde-client): JSON with compact separators; Bearer token added per request.
HTTPX = {
    "json": lambda body: json.dumps(body, ensure_ascii=False, separators=(",", ":")),
    "headers": {"Accept": "*/*", "User-Agent": "python-httpx/0.28.1"},
}
# requests (OpenCTI's connector): `json=` gives json.dumps with its default separators and
# `Content-Type: application/json`; the session carries `Authorization: Bearer …`.
REQUESTS = {
    "json": lambda body: json.dumps(body, allow_nan=False),
    "headers": {"Accept": "*/*", "User-Agent": "python-requests/2.32.3"},
}
# misp2defender: requests, with its own headers on every call, GET included
# (get_headers_with_access_token).
MISP2DEFENDER = {
    "json": lambda body: json.dumps(body, allow_nan=False),
    "headers": {
        "Content-Type": "application/json",
        "User-Agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
    },
}


def httpx_query(params: list[tuple[str, str]]) -> str:
    """A query string as httpx 0.28 builds it from `params=` (`_urlparse.urlencode`)."""
    return "&".join(
        urllib.parse.quote(k, safe="") + "=" + urllib.parse.quote(v, safe="") for k, v in params
    )


class Fail(Exception):
    """A case failed; the message says why."""


class Answer:
    def __init__(self, status: int, text: str):
        self.status = status
        self.text = text
        try:
            self.json = json.loads(text) if text else None
        except ValueError:
            self.json = None

    def why(self) -> str:
        return f"HTTP {self.status}: {self.text[:300]}"


class Server:
    def __init__(self, url: str, cafile: str, token: str):
        self.url = url.rstrip("/")
        self.cafile = cafile
        self.token = token
        self.strict = strict_context(cafile)
        self.use(self.strict)

    def use(self, ctx: ssl.SSLContext) -> None:
        """Connects with `ctx` from now on; never through a proxy from the environment."""
        self.opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=ctx)
        )

    def send(self, client: dict, method: str, target: str, body=None) -> Answer:
        """Sends `method target` (path and query exactly as given) the way `client` does."""
        headers = {"Authorization": "Bearer " + self.token, **client["headers"]}
        data = None
        if body is not None:
            data = client["json"](body).encode()
            headers["Content-Type"] = "application/json"
        req = urllib.request.Request(self.url + target, data=data, method=method, headers=headers)
        try:
            with self.opener.open(req, timeout=30) as r:
                return Answer(r.status, r.read().decode())
        except urllib.error.HTTPError as e:
            return Answer(e.code, e.read().decode(errors="replace"))
        except urllib.error.URLError as e:
            raise Fail(f"{method} {target}: {e.reason}") from e
        except (OSError, http.client.HTTPException) as e:
            raise Fail(f"{method} {target}: {e!r}") from e


def strict_context(cafile: str) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.verify_flags |= ssl.VERIFY_X509_STRICT
    return ctx


# ---------------------------------------------------------------------------------------------
# What the clients rely on in an answer.


def expect(answer: Answer, *statuses: int) -> None:
    if answer.status not in statuses:
        raise Fail(answer.why())


def expect_2xx(answer: Answer) -> None:
    """requests' `raise_for_status()`: any status below 400 passes."""
    if answer.status >= 400:
        raise Fail(answer.why())


def rows(answer: Answer) -> list[dict]:
    """The `value` list of a collection, every row an object."""
    body = answer.json
    if not isinstance(body, dict) or not isinstance(body.get("value"), list):
        raise Fail(f"no `value` list in the answer: {answer.text[:200]}")
    if not all(isinstance(r, dict) for r in body["value"]):
        raise Fail("a `value` row is not an object")
    return body["value"]


def entity(answer: Answer) -> dict:
    if not isinstance(answer.json, dict):
        raise Fail(f"the answer is not an object: {answer.text[:200]}")
    return answer.json


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_time(v) -> bool:
    if not isinstance(v, str):
        return False
    try:
        datetime.fromisoformat(v)
    except ValueError:
        return False
    return True


# mde-client 0.4.0, mde_client/contracts/indicator/schema.py (INDICATOR_SCHEMA): the Arrow type
# of each column, and whether it is non-nullable. `historicalDetection` (bool, non-nullable in
# that schema) is left out: MDE's documented Indicator resource has no such field and issue 16
# does not list it.
MDE_CLIENT_COLUMNS = {
    "id": ("string", True),
    "indicatorValue": ("string", False),
    "indicatorType": ("string", True),
    "action": ("string", True),
    "createdBy": ("string", False),
    "severity": ("string", True),
    "category": ("int32", False),
    "application": ("string", False),
    "educateUrl": ("string", False),
    "bypassDurationHours": ("int32", False),
    "title": ("string", False),
    "description": ("string", False),
    "recommendedActions": ("string", False),
    "creationTimeDateTimeUtc": ("timestamp", True),
    "expirationTime": ("timestamp", False),
    "lastUpdateTime": ("timestamp", True),
    "lastUpdatedBy": ("string", False),
    "rbacGroupNames": ("list<string>", False),
    "rbacGroupIds": ("list<int32>", True),
    "certificateInfo": ("struct", False),
    "notificationId": ("uint8", False),
    "notificationBody": ("string", False),
    "version": ("string", False),
    "mitreTechniques": ("list<string>", False),
    "lookBackPeriod": ("int32", False),
    "generateAlert": ("bool", True),
    "additionalInfo": ("string", False),
    "createdByDisplayName": ("string", False),
    "externalId": ("string", False),
    "createdBySource": ("string", True),
}

TYPE_CHECKS = {
    "string": lambda v: isinstance(v, str),
    "int32": _is_int,
    "uint8": lambda v: _is_int(v) and 0 <= v <= 255,
    "bool": lambda v: isinstance(v, bool),
    "timestamp": _is_time,
    "struct": lambda v: isinstance(v, dict),
    "list<string>": lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
    # MDE documents the ids as strings; mde-client coerces them into int32.
    "list<int32>": lambda v: isinstance(v, list)
    and all(_is_int(x) or (isinstance(x, str) and x.isdigit()) for x in v),
}


def mde_client_columns(row: dict) -> None:
    """Fails unless `row` fits mde-client's typed columns."""
    bad = []
    for field, (kind, required) in MDE_CLIENT_COLUMNS.items():
        value = row.get(field)
        if value is None:
            if required:
                bad.append(f"{field} missing" if field not in row else f"{field} null")
        elif not TYPE_CHECKS[kind](value):
            bad.append(f"{field}={json.dumps(value)} is not {kind}")
    if bad:
        raise Fail(f"id {row.get('id')}: not mde-client's columns: " + ", ".join(bad))


# ---------------------------------------------------------------------------------------------
# Set-up outside the clients' calls, so that a case does not fail because an earlier one did.


def ensure(s: Server, st: dict, key: str, value: str, **extra) -> str:
    """The id stored under `key`, else of an indicator created with MDE's required fields only."""
    if key not in st:
        body = {
            "indicatorValue": value,
            "indicatorType": "IpAddress",
            "action": "Block",
            "title": value,
            "description": "set-up for the MDE client replay",
            **extra,
        }
        a = s.send(REQUESTS, "POST", "/api/indicators", body)
        if a.status != 200 or not isinstance(a.json, dict) or "id" not in a.json:
            raise Fail(f"set-up (create {value}) failed: {a.why()}")
        st[key] = str(a.json["id"])
    return st[key]


def get_by_id(s: Server, ident: str) -> Answer:
    return s.send(REQUESTS, "GET", f"/api/indicators/{ident}")


# ---------------------------------------------------------------------------------------------
# mde-client 0.4.0 (/tmp/mdec/src/mde_client from the PyPI wheel): endpoints/indicators.py,
# endpoints/base.py (BaseQuery.to_odata_filters, BaseResults, BaseEndpoint._arequest).

MDEC_VALUE = "198.51.100.10"


def mdec_tls(s: Server, st: dict) -> None:
    # Python >= 3.13 (mde-client needs 3.14): ssl.create_default_context sets VERIFY_X509_STRICT.
    host, _, port = urllib.parse.urlsplit(s.url).netloc.rpartition(":")
    host = host.strip("[]")
    try:
        with socket.create_connection((host, int(port)), timeout=10) as raw:
            with s.strict.wrap_socket(raw, server_hostname=host):
                pass
    except ssl.SSLError as e:
        s.use(ssl.create_default_context(cafile=s.cafile))
        why = getattr(e, "verify_message", None) or e.reason or e
        raise Fail(f"{why} (the other cases run without VERIFY_X509_STRICT)") from e
    except OSError as e:
        raise Fail(f"cannot connect: {e}") from e


def mdec_ensure(s: Server, st: dict) -> str:
    return ensure(s, st, "mdec_id", MDEC_VALUE, action="Audit", generateAlert=True)


def mdec_submit(s: Server, st: dict) -> None:
    # indicators.submit(IndicatorsSubmitPayload): POST /api/indicators,
    # json=payload.model_dump(exclude_none=True). expirationTime is typed datetime, which
    # httpx's json.dumps cannot encode, so a working caller leaves it None (omitted).
    body = {
        "indicatorValue": MDEC_VALUE,
        "indicatorType": "IpAddress",
        "action": "Audit",
        "application": "mde-client",
        "title": "mde-client submit",
        "description": "submitted by mde-client",
        "severity": "Medium",
        "recommendedActions": "Investigate the connection",
        "educateUrl": "https://intranet.example/security",
        "generateAlert": True,
    }
    a = s.send(HTTPX, "POST", "/api/indicators", body)
    expect(a, 200)  # raise_for_status, then the body is read as one record
    row = entity(a)
    st["mdec_id"] = str(row.get("id"))
    mde_client_columns(row)
    if row.get("educateUrl") != body["educateUrl"]:
        raise Fail(f"educateUrl not returned as sent: {row.get('educateUrl')!r}")


def mdec_submit_groups(s: Server, st: dict) -> None:
    # IndicatorsSubmitPayload.rbacGroupNames is `str | None`: a comma-separated string.
    for name in ("mdec-servers", "mdec-laptops"):  # set-up, netward's own API
        a = s.send(REQUESTS, "POST", "/api/groups", {"name": name})
        if a.status >= 400 and a.status != 409:
            raise Fail(f"set-up (group {name}) failed: {a.why()}")
    body = {
        "indicatorValue": "198.51.100.11",
        "indicatorType": "IpAddress",
        "action": "Block",
        "title": "mde-client submit with device groups",
        "description": "submitted by mde-client",
        "rbacGroupNames": "mdec-servers,mdec-laptops",
        "generateAlert": False,
    }
    a = s.send(HTTPX, "POST", "/api/indicators", body)
    expect(a, 200)
    row = entity(a)
    if sorted(row.get("rbacGroupNames") or []) != ["mdec-laptops", "mdec-servers"]:
        raise Fail(f"rbacGroupNames came back as {row.get('rbacGroupNames')!r}")
    mde_client_columns(row)


def mdec_get_all(s: Server, st: dict) -> None:
    # indicators.get_all(): IndicatorsQuery() sends pageSize=10000 (BaseQuery.page_size default)
    # and follows @odata.nextLink.
    ident = mdec_ensure(s, st)
    a = s.send(HTTPX, "GET", "/api/indicators?" + httpx_query([("pageSize", "10000")]))
    expect(a, 200)
    found = rows(a)
    for row in found:
        mde_client_columns(row)
    if ident not in [str(r.get("id")) for r in found]:
        raise Fail(f"indicator {ident} is not listed")


def mdec_filter_value(s: Server, st: dict) -> None:
    # indicators.get_all(IndicatorsQuery(indicatorValue=...)): pageSize, then
    # $filter "indicatorValue eq '…'".
    ident = mdec_ensure(s, st)
    q = httpx_query([("pageSize", "10000"), ("$filter", f"indicatorValue eq '{MDEC_VALUE}'")])
    a = s.send(HTTPX, "GET", "/api/indicators?" + q)
    expect(a, 200)
    found = rows(a)
    if [str(r.get("id")) for r in found] != [ident]:
        raise Fail(f"expected only indicator {ident}, got {[r.get('id') for r in found]}")
    mde_client_columns(found[0])


def mdec_filter_actions(s: Server, st: dict) -> None:
    # A list value becomes `field in ('a', 'b')`; several fields are joined with " and ".
    ident = mdec_ensure(s, st)
    f = "indicatorType in ('IpAddress') and action in ('Audit', 'Warn')"
    a = s.send(HTTPX, "GET", "/api/indicators?" + httpx_query([("pageSize", "10000"), ("$filter", f)]))
    expect(a, 200)
    found = rows(a)
    if any(r.get("action") not in ("Audit", "Warn") for r in found):
        raise Fail(f"the filter let other actions through: {[r.get('action') for r in found]}")
    if ident not in [str(r.get("id")) for r in found]:
        raise Fail(f"indicator {ident} (Audit) is not listed")


def mdec_top_skip(s: Server, st: dict) -> None:
    # IndicatorsQuery(top=1, skip=1): $top/$skip replace pageSize; one request, no paging.
    mdec_ensure(s, st)
    ensure(s, st, "mdec_second", "198.51.100.15")
    a = s.send(HTTPX, "GET", "/api/indicators?" + httpx_query([("$top", "1"), ("$skip", "1")]))
    expect(a, 200)
    found = rows(a)
    if len(found) != 1:
        raise Fail(f"$top=1 gave {len(found)} rows")
    mde_client_columns(found[0])


def mdec_get(s: Server, st: dict) -> None:
    # indicators.get(id): GET /api/indicators/{id}, one record.
    ident = mdec_ensure(s, st)
    a = s.send(HTTPX, "GET", f"/api/indicators/{ident}")
    expect(a, 200)
    mde_client_columns(entity(a))


def mdec_batch_import(s: Server, st: dict) -> None:
    # indicators.batch_import([...]): POST /api/indicators/import, {"indicators": [...]} in lower
    # case; ImportIndicatorResults: id string, indicator string, isFailed bool (non-null),
    # failureReason string.
    body = {
        "indicators": [
            {
                "indicatorValue": v,
                "indicatorType": "IpAddress",
                "action": "Block",
                "application": "mde-client",
                "title": "mde-client import",
                "description": "imported by mde-client",
                "severity": "Low",
                "generateAlert": False,
            }
            for v in ("198.51.100.12", "198.51.100.13")
        ]
    }
    a = s.send(HTTPX, "POST", "/api/indicators/import", body)
    expect(a, 200)
    results = rows(a)
    bad = []
    for r in results:
        if not isinstance(r.get("isFailed"), bool):
            bad.append(f"isFailed={r.get('isFailed')!r}")
        elif r["isFailed"]:
            bad.append(f"{r.get('indicator')}: {r.get('failureReason')}")
        for k in ("id", "indicator", "failureReason"):
            if r.get(k) is not None and not isinstance(r[k], str):
                bad.append(f"{k}={json.dumps(r[k])} is not a string")
    if len(results) != 2 or bad:
        raise Fail(f"{len(results)} results; " + "; ".join(bad))


def mdec_delete(s: Server, st: dict) -> None:
    # indicators.delete(id): 204 means deleted (True), 404 not found (False); any other status,
    # 200 included, is not a deletion.
    ident = ensure(s, st, "mdec_delete_id", "198.51.100.14")
    a = s.send(HTTPX, "DELETE", f"/api/indicators/{ident}")
    expect(a, 204)
    a = s.send(HTTPX, "DELETE", f"/api/indicators/{ident}")
    if a.status != 404:
        raise Fail(f"deleting it again: expected 404, {a.why()}")


# ---------------------------------------------------------------------------------------------
# OpenCTI Microsoft Defender Intel connector. Bodies from DefenderApiHandler._build_request_body:
# the connector's `action` setting, or get_action(score); severity from get_severity(score);
# `lastUpdateTime` is OpenCTI's updated_at and always sent; expirationTime is
# (datetime.fromisoformat(updated_at) + timedelta(expire_time)).isoformat().

OCTI_APP = "OpenCTI Microsoft Defender Intel"  # APPLICATION_NAME
OCTI_VALUE = "203.0.113.10"
OCTI_UPDATED_AT = (
    datetime.now(timezone.utc).replace(microsecond=123000).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
    + "Z"
)


def octi_body(value: str, action: str = "Block", defender_id: str | None = None) -> dict:
    body = {
        "indicatorType": "IpAddress",
        "indicatorValue": value,
        "application": OCTI_APP,
        "action": action,
        "title": value,
        "description": "Scanner seen by several sensors",
        "externalId": "indicator--6b1c1e5e-2c1f-4b8a-9d0e-3f1f1a7c2b10",
        "lastUpdateTime": OCTI_UPDATED_AT,
        "expirationTime": (datetime.fromisoformat(OCTI_UPDATED_AT) + timedelta(30)).isoformat(),
        "severity": "High",
        "generateAlert": True,
    }
    if defender_id is not None:
        body["id"] = defender_id
    return body


def octi_filter(expression: str) -> str:
    """`"$filter=" + quote(expression, safe="")`, passed to requests as a ready query string."""
    return "$filter=" + urllib.parse.quote(expression, safe="")


def octi_create(s: Server, st: dict) -> None:
    # post_indicator(observable, None): POST {base_url}/api/indicators; reads result["id"].
    a = s.send(REQUESTS, "POST", "/api/indicators", octi_body(OCTI_VALUE))
    expect_2xx(a)
    row = entity(a)
    if not row.get("id"):
        raise Fail("no `id` in the answer")
    st["octi_id"] = str(row["id"])


def octi_find(s: Server, st: dict) -> None:
    # find_indicators(value): GET …/api/indicators?$filter=indicatorValue%20eq%20%27…%27;
    # the update path takes str(found[0]["id"]).
    ident = ensure(s, st, "octi_id", OCTI_VALUE, application=OCTI_APP)
    a = s.send(REQUESTS, "GET", "/api/indicators?" + octi_filter(f"indicatorValue eq '{OCTI_VALUE}'"))
    expect_2xx(a)
    found = rows(a)
    if [str(r.get("id")) for r in found] != [ident]:
        raise Fail(f"expected only indicator {ident}, got {[r.get('id') for r in found]}")
    st["octi_found"] = found[0]


def octi_update(s: Server, st: dict) -> None:
    # _update_defender_indicator → post_indicator(observable, defender_id): the create body
    # plus "id" (a string), POSTed to the same URL.
    ident = ensure(s, st, "octi_id", OCTI_VALUE, application=OCTI_APP)
    body = octi_body(OCTI_VALUE, defender_id=ident)
    body["description"] = "Scanner, now also seen brute-forcing SSH"
    a = s.send(REQUESTS, "POST", "/api/indicators", body)
    expect_2xx(a)
    row = entity(a)
    if str(row.get("id")) != ident or row.get("description") != body["description"]:
        raise Fail(f"expected indicator {ident} updated, got {a.text[:200]}")


def octi_restore(s: Server, st: dict) -> None:
    # restore_indicator(previous): the RESTORABLE_INDICATOR_FIELDS of the indicator as the
    # server returned it (id, lastUpdateTime, rbacGroupNames, … when not null), POSTed back.
    ident = ensure(s, st, "octi_id", OCTI_VALUE, application=OCTI_APP)
    previous = st.get("octi_found")
    if previous is None:  # find failed: read it by id instead (set-up)
        previous = entity(get_by_id(s, ident))
    fields = (
        "id", "indicatorValue", "indicatorType", "application", "action", "title",
        "description", "externalId", "lastUpdateTime", "expirationTime", "severity",
        "recommendedActions", "rbacGroupNames", "generateAlert",
    )  # fmt: skip
    body = {f: previous[f] for f in fields if previous.get(f) is not None}
    a = s.send(REQUESTS, "POST", "/api/indicators", body)
    expect_2xx(a)
    if str(entity(a).get("id")) != ident:
        raise Fail(f"expected indicator {ident}, got {a.text[:200]}")


def octi_alert_and_block(s: Server, st: dict) -> None:
    # The connector's `action` setting may be AlertAndBlock (settings.py Literal); every body
    # then carries it. A script comparing `action` needs it back as sent.
    a = s.send(REQUESTS, "POST", "/api/indicators", octi_body("203.0.113.11", "AlertAndBlock"))
    expect_2xx(a)
    row = entity(a)
    st["octi_aab_id"] = str(row.get("id"))
    if row.get("action") != "AlertAndBlock":
        raise Fail(f"action came back as {row.get('action')!r}")


def octi_import(s: Server, st: dict) -> None:
    # post_indicators(observables): POST …/api/indicators/import, {"Indicators": [body, …]}.
    values = ("203.0.113.12", "203.0.113.13")
    a = s.send(REQUESTS, "POST", "/api/indicators/import", {"Indicators": [octi_body(v) for v in values]})
    expect_2xx(a)
    results = rows(a)
    failed = [f"{r.get('indicator')}: {r.get('failureReason')}" for r in results if r.get("isFailed")]
    if failed:
        raise Fail("items failed: " + "; ".join(failed))
    for r, key in zip(results, ("octi_imp1", "octi_imp2")):
        st[key] = str(r["id"])


def octi_reconcile(s: Server, st: dict) -> None:
    # iter_application_indicators(page_size=2): $filter on application with $top/$skip, each
    # page after the first starting one row early, on the last row of the previous page.
    ids = {
        ensure(s, st, "octi_id", OCTI_VALUE, application=OCTI_APP),
        ensure(s, st, "octi_imp1", "203.0.113.12", application=OCTI_APP),
        ensure(s, st, "octi_imp2", "203.0.113.13", application=OCTI_APP),
    }
    query_filter = urllib.parse.quote(f"application eq '{OCTI_APP}'", safe="")
    page_size, read, previous_last, listed = 2, 0, None, []
    for _ in range(20):
        skip = read if previous_last is None else read - 1
        a = s.send(REQUESTS, "GET", f"/api/indicators?$filter={query_filter}&$top={page_size}&$skip={skip}")
        expect_2xx(a)
        items = rows(a)
        full = len(items) == page_size
        if previous_last is not None:
            if not items or items[0].get("id") != previous_last:
                raise Fail("pages do not overlap on the previous page's last row")
            items = items[1:]
        listed += items
        if not full:
            break
        read += len(items)
        previous_last = items[-1].get("id")
    if any(r.get("application") != OCTI_APP for r in listed):
        raise Fail(f"rows of other applications: {[r.get('application') for r in listed]}")
    missing = ids - {str(r.get("id")) for r in listed}
    if missing:
        raise Fail(f"indicators {sorted(missing)} are not listed")


def octi_batch_delete(s: Server, st: dict) -> None:
    # delete_indicators(ids): POST …/api/indicators/BatchDelete, {"IndicatorIds": [...]}.
    ids = [
        ensure(s, st, "octi_imp1", "203.0.113.12", application=OCTI_APP),
        ensure(s, st, "octi_imp2", "203.0.113.13", application=OCTI_APP),
    ]
    a = s.send(REQUESTS, "POST", "/api/indicators/BatchDelete", {"IndicatorIds": ids})
    expect_2xx(a)
    left = [i for i in ids if get_by_id(s, i).status != 404]
    if left:
        raise Fail(f"indicators {left} still exist")


def octi_delete(s: Server, st: dict) -> None:
    # delete_indicator(id): DELETE …/api/indicators/{id}, any 2xx.
    ident = ensure(s, st, "octi_id", OCTI_VALUE, application=OCTI_APP)
    a = s.send(REQUESTS, "DELETE", f"/api/indicators/{ident}")
    expect_2xx(a)
    if get_by_id(s, ident).status != 404:
        raise Fail(f"indicator {ident} still exists")


# ---------------------------------------------------------------------------------------------
# misp2defender. Bodies from RequestObject_Indicator.get_defender() with config.py.default
# (application "MISP", severity "Medium", recommendedActions "Block", generateAlert True,
# action "Audit"; expirationTime from ts_to_iso: "%Y-%m-%dT%H:%M:%SZ", 90 days for IpAddress).

MISP_EXPIRES = (datetime.now(timezone.utc) + timedelta(days=90)).strftime("%Y-%m-%dT%H:%M:%SZ")


def misp_body(value: str, action: str = "Audit", generate_alert: bool = True) -> dict:
    return {
        "indicatorValue": value,
        "indicatorType": "IpAddress",
        "title": "Phishing campaign against finance",
        "application": "MISP",
        "expirationTime": MISP_EXPIRES,
        "action": action,
        "severity": "Medium",
        "recommendedActions": "Block",
        "generateAlert": generate_alert,
        "description": "Event Phishing campaign against finance (ID: 1234)",
    }


def misp_push(s: Server, st: dict, items: list[dict]) -> list[dict]:
    # push_indicators_post: POST …/api/indicators/import, {"Indicators": [...]}; logs an error
    # when the JSON answer has an "error" key.
    a = s.send(MISP2DEFENDER, "POST", "/api/indicators/import", {"Indicators": items})
    if not isinstance(a.json, dict):
        raise Fail(f"the answer is not JSON: {a.why()}")
    if "error" in a.json:
        raise Fail(a.why())
    results = rows(a)
    failed = [f"{r.get('indicator')}: {r.get('failureReason')}" for r in results if r.get("isFailed")]
    if failed:
        raise Fail("items failed: " + "; ".join(failed))
    return results


def misp_import(s: Server, st: dict) -> None:
    misp_push(s, st, [misp_body("192.0.2.10"), misp_body("192.0.2.11")])


def misp_import_alert_and_block(s: Server, st: dict) -> None:
    # config.defender_action = "AlertAndBlock" (one of the values config.py.default lists).
    results = misp_push(s, st, [misp_body("192.0.2.12", "AlertAndBlock")])
    st["misp_aab"] = str(results[0].get("id"))


def misp_import_alert_no_alert(s: Server, st: dict) -> None:
    # config.defender_action = "Alert" with config.defender_generate_alert = False.
    misp_push(s, st, [misp_body("192.0.2.13", "Alert", generate_alert=False)])


def misp_fetch(s: Server, st: dict) -> None:
    # fetch_existing_indicators: GET https://api.securitycenter.microsoft.com/api/indicators/
    # (trailing slash); reads entry["indicatorValue"] of each row of "value".
    a = s.send(MISP2DEFENDER, "GET", "/api/indicators/")
    expect(a, 200)
    found = rows(a)
    if any(not isinstance(r.get("indicatorValue"), str) for r in found):
        raise Fail("a row has no string indicatorValue")
    if not found:
        raise Fail("no indicators listed")


def misp_fetch_page_2(s: Server, st: dict) -> None:
    # …when the first answer had 10,000 rows: GET …/api/indicators/?$skip=10000
    a = s.send(MISP2DEFENDER, "GET", "/api/indicators/?$skip=10000")
    expect(a, 200)
    if rows(a):
        raise Fail("rows past the 10,000th on a small server")


def misp_fetch_by_action(s: Server, st: dict) -> None:
    # The optional filter written next to that call: "?$filter=action+eq+'{}'", here with the
    # AlertAndBlock of the import above; a script comparing `action` reads it back as sent.
    ensure(s, st, "misp_aab", "192.0.2.12", action="AlertAndBlock")
    a = s.send(MISP2DEFENDER, "GET", "/api/indicators/?$filter=action+eq+'AlertAndBlock'")
    expect(a, 200)
    found = rows(a)
    values = [r.get("indicatorValue") for r in found]
    if "192.0.2.12" not in values or any(r.get("action") != "AlertAndBlock" for r in found):
        raise Fail(f"got {[(r.get('indicatorValue'), r.get('action')) for r in found]}")


# ---------------------------------------------------------------------------------------------

CASES = [
    ("mde-client: TLS handshake (VERIFY_X509_STRICT)", mdec_tls),
    ("mde-client: indicators.submit", mdec_submit),
    ("mde-client: indicators.submit with rbacGroupNames string", mdec_submit_groups),
    ("mde-client: indicators.get_all", mdec_get_all),
    ("mde-client: indicators.get_all by indicatorValue", mdec_filter_value),
    ("mde-client: indicators.get_all by indicatorType and action lists", mdec_filter_actions),
    ("mde-client: indicators.get_all with top and skip", mdec_top_skip),
    ("mde-client: indicators.get", mdec_get),
    ("mde-client: indicators.batch_import", mdec_batch_import),
    ("mde-client: indicators.delete", mdec_delete),
    ("opencti-defender-intel: create", octi_create),
    ("opencti-defender-intel: find by indicatorValue", octi_find),
    ("opencti-defender-intel: update with id and lastUpdateTime", octi_update),
    ("opencti-defender-intel: restore the previous indicator", octi_restore),
    ("opencti-defender-intel: create with action AlertAndBlock", octi_alert_and_block),
    ("opencti-defender-intel: import batch", octi_import),
    ("opencti-defender-intel: reconcile by application with $top/$skip", octi_reconcile),
    ("opencti-defender-intel: BatchDelete", octi_batch_delete),
    ("opencti-defender-intel: delete", octi_delete),
    ("misp2defender: import", misp_import),
    ("misp2defender: import with action AlertAndBlock", misp_import_alert_and_block),
    ("misp2defender: import with action Alert and generateAlert false", misp_import_alert_no_alert),
    ("misp2defender: list existing indicators", misp_fetch),
    ("misp2defender: list existing indicators, page 2", misp_fetch_page_2),
    ("misp2defender: list by action AlertAndBlock", misp_fetch_by_action),
]


def main(argv: list[str]) -> int:
    if len(argv) != 4:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    try:
        s = Server(argv[1], argv[2], argv[3])
    except (OSError, ssl.SSLError) as e:
        print(f"cannot load the CA file {argv[2]}: {e}", file=sys.stderr)
        return 2
    st: dict = {}
    failed = 0
    width = max(len(name) for name, _ in CASES)
    for name, case in CASES:
        try:
            case(s, st)
            print(f"{name:<{width}}  ok", flush=True)
        except Fail as e:
            failed += 1
            print(f"{name:<{width}}  FAIL {e}", flush=True)
        except Exception as e:  # an answer of a shape no check foresaw
            failed += 1
            print(f"{name:<{width}}  FAIL unexpected answer: {e!r}", flush=True)
    print(f"{len(CASES) - failed} of {len(CASES)} cases passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
