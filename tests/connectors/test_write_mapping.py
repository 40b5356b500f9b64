"""The write direction of a mapping, on plain dicts: what a delivery and a correction request
look like in the owning system's own format, and what a bad spec is refused for."""

from __future__ import annotations

from copy import deepcopy
from typing import Any

import pytest

from connectors.mapping import MappingError, NotEncodable, compile_mapping
from connectors.systems import load_mappings
from dictionary import Dictionary, load_dictionary


@pytest.fixture(scope="module")
def dictionary() -> Dictionary:
    return load_dictionary()


def shipped(system: str, record_type: str) -> dict[str, Any]:
    return next(s for s in load_mappings(system) if s["record_type"] == record_type)


TRANSFER = {
    "record": {
        "certificate_number": "DA1234567",
        "issued_date": "2026-11-24",
        "issuing_province": "01",
        "owner_citizen_id": "001090012345",
        "owner_full_name": "Trần Văn Bình",
        "parcel_id": "01-273-00015-00123",
        "map_sheet_number": 15,
        "parcel_number": 123,
        "area_m2": 125.5,
        "land_use_purpose": "ONT",
    },
    "replaces": {"owner_citizen_id": "001085012345", "certificate_number": "CS01234567"},
}


def test_a_land_transfer_is_sent_in_the_land_systems_own_format(dictionary: Dictionary) -> None:
    mapping = compile_mapping(shipped("land", "LandUseRightCertificate"), dictionary)
    write = mapping.write_for("LandUseRightCertificate")
    assert write is not None and write.after is None
    request = write.request.build(TRANSFER, "key-1", dry_run=False)
    assert (request.method, request.path, request.params) == (
        "POST",
        "/vbdlis/api/v1/bien-dong/chuyen-nhuong",
        {},
    )
    assert request.headers == {}
    assert request.body == {
        "maGiaoDich": "key-1",
        "maThua": "01-273-00015-00123",
        "soPhatHanh": "CS01234567",
        "benChuyenNhuong": {"soDinhDanh": "001085012345"},
        "benNhanChuyenNhuong": {"soDinhDanh": "001090012345"},
        "ngayHopDong": "24/11/2026",
    }
    dry = write.request.build(TRANSFER, "key-1", dry_run=True)
    assert dry.params == {"dryRun": "true"}
    answer = {"code": 0, "data": {"soPhatHanhMoi": "DE00000001"}}
    assert write.returned(answer) == {"certificate_number": "DE00000001"}
    assert write.request.reason({"code": 409, "message": "Đã bị hủy"}) == "Đã bị hủy"


def test_a_birth_reaches_population_after_civil_status_with_codes_and_dates_encoded(
    dictionary: Dictionary,
) -> None:
    mapping = compile_mapping(shipped("population", "Person"), dictionary)
    write = mapping.write_for("BirthRegistration")
    assert write is not None and write.after == "civil_status"
    record = {
        "child_citizen_id": "001226000123",
        "child_full_name": "Huỳnh Minh An",
        "child_date_of_birth": "2026-11-20",
        "child_sex": "F",
        "child_place_of_birth_province": "01",
        "mother_citizen_id": "001190054321",
    }
    request = write.request.build({"record": record}, "key-2", dry_run=False)
    assert request.headers == {"X-Ma-Giao-Dich": "key-2"}
    assert request.body == {
        "loaiBienDong": "KHAI_SINH",
        "soDinhDanh": "001226000123",
        "hoVaTen": "Huỳnh Minh An",
        "ngaySinh": "20/11/2026",
        "gioiTinh": "2",
        "me": {"soDinhDanh": "001190054321"},  # no father on record: no cha at all
        "noiDangKyKhaiSinh": {"maTinh": "01"},
    }


def test_a_path_placeholder_the_delivery_lacks_cannot_be_sent(dictionary: Dictionary) -> None:
    mapping = compile_mapping(shipped("population", "Residence"), dictionary)
    write = mapping.write_for("Residence")
    assert write is not None
    with pytest.raises(NotEncodable):
        write.request.build({"record": {"address_line": "1 Tràng Tiền"}}, "k", dry_run=False)


def test_a_correction_names_the_field_and_values_as_the_source_reads_them(
    dictionary: Dictionary,
) -> None:
    mapping = compile_mapping(shipped("land", "LandUseRightCertificate"), dictionary)
    path, encode = mapping.source_field("area_m2")
    assert (path, encode(125.5), encode(130.0)) == ("thuaDat.dienTich", "125,5", "130")
    assert mapping.decode_field("area_m2", "131,25") == 131.25
    person = compile_mapping(shipped("population", "Person"), dictionary)
    assert person.source_field("sex")[1]("F") == "2"
    assert person.source_field("date_of_birth")[1]("1990-02-03") == "03/02/1990"
    assert person.decode_field("date_of_birth", "04/02/1990") == "1990-02-04"
    correction = mapping.correction
    assert correction is not None
    document = {
        "correction": {
            "source_reference": "GCN-1",
            "subject_id": "001085012345",
            "source_field": path,
            "current": "125,5",
            "claimed": "130",
            "note": None,
        }
    }
    request = correction.request.build(document, "key-3", dry_run=False)
    assert request.body == {
        "maGiaoDich": "key-3",
        "maHoSo": "GCN-1",
        "soDinhDanh": "001085012345",
        "truong": "thuaDat.dienTich",
        "giaTriHienTai": "125,5",
        "giaTriDeNghi": "130",
    }
    accepted = correction.answer({"code": 0, "data": {"ketQua": "CHAP_NHAN", "giaTriMoi": "130"}})
    assert accepted is not None and accepted.accepted and accepted.value == "130"
    refused = correction.answer({"code": 0, "data": {"ketQua": "TU_CHOI", "lyDoTuChoi": "Không"}})
    assert refused is not None and not refused.accepted and refused.reason == "Không"
    assert correction.answer({"code": 0, "data": {}}) is None


def test_a_household_member_list_has_no_inverse_so_it_cannot_be_corrected_online(
    dictionary: Dictionary,
) -> None:
    mapping = compile_mapping(shipped("population", "Household"), dictionary)
    with pytest.raises(NotEncodable):
        mapping.source_field("members")


def test_every_problem_of_a_write_spec_is_listed(dictionary: Dictionary) -> None:
    spec = deepcopy(shipped("land", "LandUseRightCertificate"))
    write = spec["writes"][0]
    write["method"] = "DELETE"
    write["body"]["maThua"] = "record.no_such_field"
    write["body"]["ngayHopDong"] = {"from": "record.issued_date", "date_format": "no directive"}
    write["answer"]["returns"] = {"nonsense": "data.x"}
    write["idempotency"] = {"cookie": "x"}
    write["colour"] = "red"
    write["after"] = "weather"
    spec["correction"]["answer"] = {"decision_at": "data.ketQua", "accepted": "A", "rejected": "A"}
    with pytest.raises(MappingError) as caught:
        compile_mapping(spec, dictionary)
    found = {(p["path"], p["code"]) for p in caught.value.problems}
    assert found == {
        ("writes.0.method", "invalid_spec"),
        ("writes.0.body.maThua", "unknown_element"),
        ("writes.0.body.ngayHopDong.date_format", "invalid_spec"),
        ("writes.0.answer.returns.nonsense", "unknown_element"),
        ("writes.0.idempotency", "invalid_spec"),
        ("writes.0.colour", "unknown_key"),
        ("writes.0.after", "invalid_spec"),
        ("correction.answer", "invalid_spec"),
    }


def test_every_shipped_write_and_correction_compiles(dictionary: Dictionary) -> None:
    taken: dict[str, list[str]] = {}
    corrected = []
    for system in ("population", "civil_status", "land", "tax"):
        for spec in load_mappings(system):
            mapping = compile_mapping(spec, dictionary)
            for write in mapping.writes:
                taken.setdefault(write.record_type, []).append(system)
                assert write.example is not None, write.record_type
            if mapping.correction is not None:
                corrected.append(mapping.record_type)
    # Every result record a shipped procedure produces has an owner that takes it, except
    # the marital-status certificate, which the deciding commune issues itself.
    results = {p.result.record_type for p in dictionary.procedures.values()}
    assert sorted(results - set(taken)) == ["MaritalStatusCertificate"]
    assert taken["BirthRegistration"] == ["population", "civil_status"]
    assert len(corrected) == 11
