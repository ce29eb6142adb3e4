"""R60: `/metrics` scraped as Prometheus does and parsed by the Prometheus project's own
client library (its OpenMetrics parser): requests by route and status, latency histograms,
sign-ins by method and result, authorization outcomes and the database pool — each
counting what this test did. `/healthz` and `/readyz` answer."""

import httpx
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from conftest import start_tenant


def scrape(origin: str) -> dict:
    r = httpx.get(f"{origin}/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/openmetrics-text")
    return {f.name: f for f in text_string_to_metric_families(r.text)}


def value(families: dict, family: str, sample: str, **labels) -> float:
    return sum(s.value for s in families[family].samples
               if s.name == sample and all(s.labels.get(k) == v for k, v in labels.items()))


def test_metrics_count_what_happened_in_the_prometheus_format():
    t = start_tenant()
    try:
        assert httpx.get(f"{t.origin}/healthz").json() == {"status": "ok"}
        assert httpx.get(f"{t.origin}/readyz").json() == {"status": "ok"}
        t.cli("users", "add", "--upn", "ann@portcullis.local")
        code = t.cli("tap", "create", "--user", "ann@portcullis.local").split("\n")[0].split()[-1]
        with httpx.Client(base_url=t.origin, follow_redirects=False) as c:
            for wrong in ["WRONG-1", "WRONG-2"]:
                assert c.post("/signin/tap", data={"username": "ann@portcullis.local", "code": wrong}).status_code == 401
            assert c.post("/signin/tap", data={"username": "ann@portcullis.local", "code": code}).status_code == 303
            # An application's authorization from the signed-in session: a code is issued
            # to Security info (a first-party client).
            assert c.get("/security-info", follow_redirects=True).status_code == 200
        # Any token is an HTTP method; the label keeps a fixed set, so nobody grows /metrics.
        for odd in ["XYZ123", "PROPFIND", "A" * 200]:
            httpx.request(odd, f"{t.origin}/v1.0/users")
        m = scrape(t.origin)
        methods = {s.labels["method"] for s in m["portcullis_http_requests"].samples if "method" in s.labels}
        assert methods <= {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "other"}, methods
        assert value(m, "portcullis_http_requests", "portcullis_http_requests_total", method="other") == 3
        assert value(m, "portcullis_sign_ins", "portcullis_sign_ins_total", method="temporaryAccessPass", result="failure") == 2
        assert value(m, "portcullis_sign_ins", "portcullis_sign_ins_total", method="temporaryAccessPass", result="success") == 1
        assert value(m, "portcullis_http_requests", "portcullis_http_requests_total", route="/signin/tap", method="POST", status="401") == 2
        assert value(m, "portcullis_http_requests", "portcullis_http_requests_total", route="/readyz", status="200") == 1
        assert value(m, "portcullis_authorizations", "portcullis_authorizations_total", outcome="codeIssued") >= 1
        # The latency histogram: one observation per request, in cumulative buckets.
        count = value(m, "portcullis_http_request_duration_seconds", "portcullis_http_request_duration_seconds_count", route="/signin/tap")
        assert count == 3
        inf = value(m, "portcullis_http_request_duration_seconds", "portcullis_http_request_duration_seconds_bucket", route="/signin/tap", le="+Inf")
        assert inf == 3
        assert value(m, "portcullis_db_pool_connections", "portcullis_db_pool_connections") >= 1
        # A second scrape counts the first.
        assert value(scrape(t.origin), "portcullis_http_requests", "portcullis_http_requests_total", route="/metrics") >= 1
    finally:
        t.proc.terminate()
        t.proc.wait(timeout=30)
