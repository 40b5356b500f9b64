"""The four mock systems over real HTTP (each its own uvicorn process): auth, pagination,
error envelopes and injected faults, as a connector will meet them."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest

from tests.helpers.mock_servers import MockServers

Mocks = MockServers


@pytest.fixture
def http() -> Any:
    with httpx.Client(timeout=10.0) as client:
        yield client


def _get(mocks: Mocks, http: httpx.Client, system: str, path: str, **params: Any) -> Any:
    return http.get(f"{mocks.url(system)}{path}", headers=mocks.headers(system), params=params)


# -- auth -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("system", "path", "code_at", "code"),
    [
        ("population", "/api/v2/cong-dan", ("maLoi",), "E401"),
        ("land", "/vbdlis/api/v1/thua-dat", ("code",), 401),
    ],
)
def test_api_key_systems_refuse_a_missing_or_wrong_key(
    mock_servers: Mocks, http: httpx.Client, system: str, path: str, code_at: Any, code: Any
) -> None:
    url = f"{mock_servers.url(system)}{path}"
    header = mock_servers.auth(system)["header"]
    for headers in ({}, {header: "not-the-key"}):
        answer = http.get(url, headers=headers)
        assert answer.status_code == 401
        assert answer.json()[code_at[0]] == code
    assert http.get(url, headers=mock_servers.headers(system)).status_code == 200


@pytest.mark.parametrize(("system", "path"), [("civil-status", "/hotich/v1/khai-sinh"),
                                              ("tax", "/tct/api/v1/nnt")])  # fmt: skip
def test_oauth2_tokens_are_issued_for_client_credentials_and_expire(
    mock_servers: Mocks, http: httpx.Client, system: str, path: str
) -> None:
    auth = mock_servers.auth(system)
    url = f"{mock_servers.url(system)}{path}"
    assert http.get(url).status_code == 401

    form = {"grant_type": "client_credentials", "client_id": auth["client_id"],
            "client_secret": auth["client_secret"]}  # fmt: skip
    issued = http.post(auth["token_url"], data=form)
    assert issued.status_code == 200
    token = issued.json()
    assert token["token_type"] == "bearer" and token["expires_in"] == 300
    bearer = {"Authorization": f"Bearer {token['access_token']}"}
    assert http.get(url, headers=bearer).status_code == 200

    # Tokens issued while the TTL is zero are expired at once: the next call is refused
    # with the system's own error body, and a fresh token (normal TTL) works again.
    mock_servers.set_faults(system, token_ttl_seconds=0)
    short = http.post(auth["token_url"], data=form).json()
    assert short["expires_in"] == 0
    refused = http.get(url, headers={"Authorization": f"Bearer {short['access_token']}"})
    assert refused.status_code == 401
    assert "expired" in refused.headers["www-authenticate"]
    assert refused.json() in (
        {"trangThai": "LOI", "loi": {"ma": "HT-401", "moTa": "Mã truy cập đã hết hạn"}},
        {"errorCode": "TCT401", "errorDesc": "Mã truy cập đã hết hạn"},
    )
    mock_servers.reset()
    assert http.get(url, headers=bearer).status_code == 200


def test_the_token_endpoint_takes_http_basic_and_refuses_bad_clients(
    mock_servers: Mocks, http: httpx.Client
) -> None:
    auth = mock_servers.auth("tax")
    basic = base64.b64encode(f"{auth['client_id']}:{auth['client_secret']}".encode()).decode()
    answer = http.post(
        auth["token_url"],
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert answer.status_code == 200 and answer.json()["access_token"]

    wrong = http.post(auth["token_url"], data={"grant_type": "client_credentials",
                      "client_id": auth["client_id"], "client_secret": "wrong"})  # fmt: skip
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    grant = http.post(auth["token_url"], data={"grant_type": "password"})
    assert grant.status_code == 400 and grant.json()["error"] == "unsupported_grant_type"


def test_an_unknown_bearer_token_is_refused_with_the_system_error_body(
    mock_servers: Mocks, http: httpx.Client
) -> None:
    answer = http.get(
        f"{mock_servers.url('civil-status')}/hotich/v1/khai-sinh",
        headers={"Authorization": "Bearer made-up"},
    )
    assert answer.status_code == 401
    assert answer.json()["trangThai"] == "LOI"
    assert answer.json()["loi"]["ma"] == "HT-401"


# -- records and envelopes --------------------------------------------------------------------


def test_each_system_answers_an_unknown_subject_with_its_own_404(
    mock_servers: Mocks, http: httpx.Client
) -> None:
    unknown = "001085012345"
    population = _get(mock_servers, http, "population", f"/api/v2/cong-dan/{unknown}")
    assert population.status_code == 404 and population.json()["maLoi"] == "E404"
    civil = _get(mock_servers, http, "civil-status", f"/hotich/v1/khai-sinh/{unknown}")
    assert civil.status_code == 404 and civil.json()["loi"]["ma"] == "HT-404"
    tax = _get(mock_servers, http, "tax", f"/tct/api/v1/nnt/{unknown}")
    assert tax.status_code == 404 and tax.json()["errorCode"] == "TCT404"
    # The land register cannot tell a landless citizen from an unknown one: an empty list.
    land = _get(mock_servers, http, "land", f"/vbdlis/api/v1/chu-su-dung/{unknown}/thua-dat")
    assert land.status_code == 200 and land.json()["data"] == []
    malformed = _get(mock_servers, http, "land", "/vbdlis/api/v1/chu-su-dung/12/thua-dat")
    assert malformed.status_code == 400 and malformed.json()["code"] == 400


def test_a_demo_citizen_is_found_in_all_four_systems_in_their_own_formats(
    mock_servers: Mocks, http: httpx.Client
) -> None:
    citizen_id = mock_servers.dataset.demo_citizens(1)[0]
    person = _get(mock_servers, http, "population", f"/api/v2/cong-dan/{citizen_id}").json()
    assert person["maKetQua"] == "00"
    record = person["duLieu"]
    assert record["soDinhDanh"] == citizen_id and record["gioiTinh"] in ("1", "2")
    day, month, year = record["ngaySinh"].split("/")
    assert len(day) == 2 and len(month) == 2 and len(year) == 4

    birth = _get(mock_servers, http, "civil-status", f"/hotich/v1/khai-sinh/{citizen_id}")
    assert birth.json()["ketQua"]["nguoiDuocKhaiSinh"]["hoTen"] == record["hoVaTen"]
    marriages = _get(mock_servers, http, "civil-status",
                     f"/hotich/v1/cong-dan/{citizen_id}/ket-hon").json()["ketQua"]  # fmt: skip
    assert len(marriages) == 1
    assert citizen_id in (marriages[0]["chong"]["soDinhDanh"], marriages[0]["vo"]["soDinhDanh"])

    parcels = _get(mock_servers, http, "land",
                   f"/vbdlis/api/v1/chu-su-dung/{citizen_id}/thua-dat").json()["data"]  # fmt: skip
    assert parcels and all("," in p["dienTich"] for p in parcels)
    taxpayer = _get(mock_servers, http, "tax", f"/tct/api/v1/nnt/{citizen_id}").json()["data"]
    assert taxpayer["mst"] == citizen_id
    by_legacy = _get(mock_servers, http, "tax", f"/tct/api/v1/nnt/{taxpayer['mstCu']}")
    assert by_legacy.json()["data"]["mst"] == citizen_id
    by_query = _get(mock_servers, http, "tax", "/tct/api/v1/nnt", soDinhDanh=citizen_id)
    assert by_query.json()["data"]["mst"] == citizen_id
    years = _get(mock_servers, http, "tax", f"/tct/api/v1/nnt/{citizen_id}/nghia-vu-thue")
    assert [y["kyTinhThue"] for y in years.json()["data"]] == sorted(
        y["kyTinhThue"] for y in years.json()["data"]
    )


def test_a_death_shows_in_civil_status_and_in_population(
    mock_servers: Mocks, http: httpx.Client
) -> None:
    dataset = mock_servers.dataset
    citizen_id = dataset.citizen_id(dataset.deceased(0, 1)[0])
    person = _get(mock_servers, http, "population", f"/api/v2/cong-dan/{citizen_id}").json()
    death = _get(mock_servers, http, "civil-status", f"/hotich/v1/khai-tu/{citizen_id}").json()
    assert person["duLieu"]["daQuaDoi"] is True
    assert person["duLieu"]["ngayMat"] == death["ketQua"]["ngayChet"]
    residence = _get(mock_servers, http, "population", f"/api/v2/cong-dan/{citizen_id}/cu-tru")
    assert residence.status_code == 404


# -- pagination -------------------------------------------------------------------------------


def test_population_pages_by_page_number_and_reports_the_total(
    mock_servers: Mocks, http: httpx.Client
) -> None:
    first = _get(mock_servers, http, "population", "/api/v2/cong-dan", trang=1, soBanGhi=20)
    second = _get(mock_servers, http, "population", "/api/v2/cong-dan", trang=2, soBanGhi=20)
    assert first.json()["tongSo"] == mock_servers.dataset.size
    ids = [p["soDinhDanh"] for p in first.json()["duLieu"] + second.json()["duLieu"]]
    assert len(ids) == len(set(ids)) == 40
    last_page = mock_servers.dataset.size // 20 + 1
    beyond = _get(mock_servers, http, "population", "/api/v2/cong-dan", trang=last_page,
                  soBanGhi=20)  # fmt: skip
    assert beyond.json()["duLieu"] == []
    bad = _get(mock_servers, http, "population", "/api/v2/cong-dan", trang="x")
    assert bad.status_code == 400 and bad.json()["maLoi"] == "E400"


def test_civil_status_pages_by_offset(mock_servers: Mocks, http: httpx.Client) -> None:
    page = _get(mock_servers, http, "civil-status", "/hotich/v1/khai-sinh", batDau=10, soLuong=5)
    body = page.json()
    assert (body["batDau"], body["soLuong"], body["tongSoBanGhi"]) == (
        10, 5, mock_servers.dataset.size,
    )  # fmt: skip
    expected = [mock_servers.dataset.citizen_id(i) for i in range(10, 15)]
    assert [r["nguoiDuocKhaiSinh"]["soDinhDanh"] for r in body["ketQua"]] == expected
    marriages = _get(mock_servers, http, "civil-status", "/hotich/v1/ket-hon", soLuong=3)
    assert len(marriages.json()["ketQua"]) == 3
    deaths = _get(mock_servers, http, "civil-status", "/hotich/v1/khai-tu", soLuong=3)
    assert len(deaths.json()["ketQua"]) == 3


def test_land_pages_by_cursor_to_the_end_without_repeats() -> None:
    # A small dataset of its own, so the walk to the end stays short.
    from connectors.mocks import MockSettings

    with (
        MockServers(MockSettings(persons=600), systems=("land",)) as mocks,
        httpx.Client(timeout=10.0) as http,
    ):
        seen: list[str] = []
        cursor: str | None = None
        for _ in range(200):  # bounded: 600 persons hold far fewer than 200 pages of 5
            params: dict[str, Any] = {"limit": 5}
            if cursor:
                params["cursor"] = cursor
            body = _get(mocks, http, "land", "/vbdlis/api/v1/thua-dat", **params).json()
            assert len(body["data"]) <= 5
            seen.extend(p["maThua"] for p in body["data"])
            cursor = body["nextCursor"]
            if cursor is None:
                break
        assert cursor is None
        expected = [p.parcel_id for i in range(600) for p in mocks.dataset.parcels_of(i)]
        assert seen == expected and len(set(seen)) == len(seen)
        bad = _get(mocks, http, "land", "/vbdlis/api/v1/thua-dat", cursor="!!")
        assert bad.status_code == 400


def test_tax_pages_by_page_number_with_total_pages(mock_servers: Mocks, http: httpx.Client) -> None:
    body = _get(mock_servers, http, "tax", "/tct/api/v1/nnt", pageNo=3, pageSize=10).json()
    total = mock_servers.dataset.taxpayer_count
    assert body["totalElements"] == total and body["totalPages"] == -(-total // 10)
    assert len(body["data"]) == 10 and body["pageNo"] == 3


# -- faults -----------------------------------------------------------------------------------


def test_an_error_rate_of_one_fails_every_call_with_a_5xx_in_the_system_format(
    mock_servers: Mocks, http: httpx.Client
) -> None:
    mock_servers.set_faults("population", error_rate=1.0)
    for _ in range(5):
        answer = _get(mock_servers, http, "population", "/api/v2/cong-dan")
        assert answer.status_code in (500, 502, 503)
        assert answer.json()["maLoi"] == f"E{answer.status_code}"
    assert mock_servers.stats("population")["faults_injected"]["error"] == 5


def test_a_partial_error_rate_fails_some_calls_and_is_reproducible(
    mock_servers: Mocks, http: httpx.Client
) -> None:
    def run() -> list[int]:
        mock_servers.set_faults("land", error_rate=0.5, seed=11)
        return [
            _get(mock_servers, http, "land", "/vbdlis/api/v1/thua-dat", limit=1).status_code
            for _ in range(30)
        ]

    first = run()
    assert 200 in first and any(code >= 500 for code in first)
    assert run() == first


def test_a_malformed_body_is_truncated_json_with_status_200(
    mock_servers: Mocks, http: httpx.Client
) -> None:
    mock_servers.set_faults("tax", malformed_rate=1.0)
    citizen_id = mock_servers.dataset.demo_citizens(1)[0]
    answer = _get(mock_servers, http, "tax", f"/tct/api/v1/nnt/{citizen_id}")
    assert answer.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(answer.content)


def test_drift_renames_a_field_in_every_response(mock_servers: Mocks, http: httpx.Client) -> None:
    citizen_id = mock_servers.dataset.demo_citizens(1)[0]
    mock_servers.set_faults("population", drift={"hoVaTen": "hoTen"})
    record = _get(mock_servers, http, "population", f"/api/v2/cong-dan/{citizen_id}").json()
    assert "hoVaTen" not in record["duLieu"] and record["duLieu"]["hoTen"]
    page = _get(mock_servers, http, "population", "/api/v2/cong-dan", soBanGhi=3).json()
    assert all("hoTen" in p and "hoVaTen" not in p for p in page["duLieu"])


def test_a_hang_outlasts_a_client_timeout(mock_servers: Mocks) -> None:
    mock_servers.set_faults("civil-status", hang_rate=1.0, hang_seconds=5)
    url = f"{mock_servers.url('civil-status')}/hotich/v1/khai-sinh"
    with (
        httpx.Client(timeout=httpx.Timeout(5.0, read=0.3)) as client,
        pytest.raises(httpx.ReadTimeout),
    ):
        client.get(url, headers={"Authorization": "Bearer whatever"})
    assert mock_servers.stats("civil-status")["faults_injected"]["hang"] == 1


def test_latency_settings_are_kept_and_calls_still_succeed(
    mock_servers: Mocks, http: httpx.Client
) -> None:
    faults = mock_servers.set_faults("population", latency_ms=20, latency_jitter_ms=10)
    assert (faults["latency_ms"], faults["latency_jitter_ms"]) == (20, 10)
    answer = _get(mock_servers, http, "population", "/api/v2/cong-dan")
    assert answer.status_code == 200
    # The mock says it delayed the answer (no timing assertion in a test).
    assert mock_servers.stats("population")["faults_injected"]["latency"] == 1
    assert mock_servers.faults("population")["latency_ms"] == 20


def test_faults_are_replaced_by_put_merged_by_patch_and_cleared_by_delete(
    mock_servers: Mocks, http: httpx.Client
) -> None:
    url = f"{mock_servers.url('land')}/__faults"
    http.put(url, json={"error_rate": 0.2, "drift": {"soThua": "soThuaDat"}})
    merged = http.patch(url, json={"latency_ms": 5}).json()
    assert (merged["error_rate"], merged["latency_ms"]) == (0.2, 5)
    replaced = http.put(url, json={"latency_ms": 7}).json()
    assert (replaced["error_rate"], replaced["drift"], replaced["latency_ms"]) == (0.0, {}, 7)
    cleared = http.delete(url).json()
    assert cleared["latency_ms"] == 0 and cleared["token_ttl_seconds"] is None


def test_bad_fault_settings_are_refused_with_every_problem(
    mock_servers: Mocks, http: httpx.Client
) -> None:
    url = f"{mock_servers.url('tax')}/__faults"
    answer = http.put(url, json={"error_rate": 2, "latency_ms": -1, "drift": ["x"]})
    assert answer.status_code == 422
    for name in ("error_rate", "latency_ms", "drift"):
        assert name in answer.json()["error"]
    unknown = http.put(url, json={"explode": True})
    assert unknown.status_code == 422 and "explode" in unknown.json()["error"]
    assert mock_servers.faults("tax")["error_rate"] == 0.0


def test_stats_count_requests_by_route_and_status(mock_servers: Mocks, http: httpx.Client) -> None:
    citizen_id = mock_servers.dataset.demo_citizens(1)[0]
    for _ in range(3):
        _get(mock_servers, http, "population", f"/api/v2/cong-dan/{citizen_id}")
    http.get(f"{mock_servers.url('population')}/api/v2/cong-dan")  # no key: 401
    stats = mock_servers.stats("population")
    assert stats["requests"] == 4
    assert stats["by_route"]["/api/v2/cong-dan/{soDinhDanh}"] == 3
    assert stats["by_status"] == {"200": 3, "401": 1}


def test_faults_spare_the_token_endpoint_unless_asked(
    mock_servers: Mocks, http: httpx.Client
) -> None:
    auth = mock_servers.auth("tax")
    form = {"grant_type": "client_credentials", "client_id": auth["client_id"],
            "client_secret": auth["client_secret"]}  # fmt: skip
    mock_servers.set_faults("tax", error_rate=1.0)
    assert http.post(auth["token_url"], data=form).status_code == 200
    mock_servers.set_faults("tax", error_rate=1.0, token_endpoint_faults=True)
    assert http.post(auth["token_url"], data=form).status_code >= 500


def test_the_cli_runs_one_mock_per_system_and_refuses_others() -> None:
    from typer.testing import CliRunner

    from app.cli import cli

    runner = CliRunner()
    helped = runner.invoke(cli, ["mock", "--help"])
    assert helped.exit_code == 0
    for option in ("--port", "--host", "--seed", "--persons"):
        assert option in helped.output
    refused = runner.invoke(cli, ["mock", "weather", "--port", "1"])
    assert refused.exit_code != 0
    too_many = runner.invoke(cli, ["mock", "population", "--persons", "2000000"])
    assert too_many.exit_code != 0 and "persons" in too_many.output


def test_tokens_can_be_expired_in_the_middle_of_a_run(
    mock_servers: Mocks, http: httpx.Client
) -> None:
    url = f"{mock_servers.url('civil-status')}/hotich/v1/khai-sinh"
    headers = mock_servers.headers("civil-status")
    assert http.get(url, headers=headers).status_code == 200
    assert mock_servers.expire_tokens("civil-status") >= 1
    expired = http.get(url, headers=headers)
    assert expired.status_code == 401 and expired.json()["loi"]["ma"] == "HT-401"
    assert http.get(url, headers=mock_servers.headers("civil-status")).status_code == 200


def test_each_mock_describes_itself_at_its_root(mock_servers: Mocks, http: httpx.Client) -> None:
    for system in ("population", "civil-status", "land", "tax"):
        described = http.get(f"{mock_servers.url(system)}/").json()
        assert described["system"] == system
        assert described["auth"]["kind"] == mock_servers.auth(system)["kind"]
        assert described["endpoints"]
