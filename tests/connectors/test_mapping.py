"""The declarative mapping engine, on plain dicts: no network."""

from __future__ import annotations

from copy import deepcopy
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from connectors.mapping import MappingError, compile_mapping
from dictionary import Dictionary, load_dictionary


@pytest.fixture(scope="module")
def dictionary() -> Dictionary:
    return load_dictionary()


PERSON: dict[str, Any] = {
    "id": "population.Person",
    "system": "population",
    "record_type": "Person",
    "request": {"path": "/api/v2/cong-dan/{subject_id}", "params": {"kenh": "hub"}},
    "response": {"records_at": "duLieu", "not_found": {"status": 404}},
    "source_reference": "soDinhDanh",
    "last_updated": {"from": "ngayCapNhat", "date_format": "%d/%m/%Y %H:%M:%S"},
    "fields": {
        "citizen_id": {"from": "soDinhDanh"},
        "full_name": {"join": ["hoDem", "ten"], "transforms": ["nfc"]},
        "date_of_birth": {"from": "ngaySinh", "date_format": "%d/%m/%Y"},
        "sex": {"from": "gioiTinh", "codes": {"1": "M", "2": "F"}},
        "nationality": {"const": "VN"},
        "ethnicity": {"from": "danToc.ma", "transforms": ["strip", {"zfill": 2}]},
        "place_of_birth_province": {"from": "noiSinh[0].maTinh"},
        "marital_status": {"from": "honNhan", "codes": {"DT": "SINGLE", "KH": "MARRIED"}},
        "is_deceased": {"from": "daMat", "transforms": ["boolean"], "default": False},
        "household_id": "soHoKhau",
    },
}

RAW: dict[str, Any] = {
    "soDinhDanh": "001085012345",
    "hoDem": "Nguye\u0302\u0303n Văn",  # decomposed diacritics, as some legacy systems store
    "ten": " An ",
    "ngaySinh": "15/03/1985",
    "gioiTinh": 1,
    "danToc": {"ma": " 1 "},
    "noiSinh": [{"maTinh": "01"}],
    "honNhan": "KH",
    "soHoKhau": "",
    "ngayCapNhat": "01/02/2024 10:30:00",
}


def test_a_legacy_record_maps_onto_the_dictionary_and_validates(dictionary: Dictionary) -> None:
    mapping = compile_mapping(PERSON, dictionary)
    mapped = mapping.apply(RAW)

    assert mapped.data == {
        "citizen_id": "001085012345",
        "full_name": "Nguyễn Văn An",
        "date_of_birth": "1985-03-15",
        "sex": "M",
        "nationality": "VN",
        "ethnicity": "01",
        "place_of_birth_province": "01",
        "marital_status": "MARRIED",
        "is_deceased": False,
    }
    assert mapped.source_reference == "001085012345"
    assert mapped.last_updated == datetime(2024, 2, 1, 10, 30, tzinfo=timezone(timedelta(hours=7)))
    assert mapping.issues_of(mapped) == []
    assert mapping.request_path("001/085?x") == "/api/v2/cong-dan/001%2F085%3Fx"
    assert mapping.params == {"kenh": "hub"}
    assert (mapping.record_type, mapping.record_version) == ("Person", "1.1.0")


def test_a_missing_optional_source_field_is_omitted_not_null(dictionary: Dictionary) -> None:
    mapping = compile_mapping(PERSON, dictionary)
    raw = {k: v for k, v in RAW.items() if k not in ("danToc", "honNhan", "noiSinh")}

    data = mapping.apply(raw).data

    for absent in ("ethnicity", "marital_status", "place_of_birth_province", "household_id"):
        assert absent not in data
    assert data["is_deceased"] is False  # its default
    assert mapping.issues_of(mapping.apply(raw)) == []


def test_a_missing_required_field_is_reported_by_validation(dictionary: Dictionary) -> None:
    mapping = compile_mapping(PERSON, dictionary)
    raw = dict(RAW)
    raw["hoTen"] = raw.pop("hoDem")  # schema drift: a renamed field
    del raw["ten"]

    issues = mapping.issues_of(mapping.apply(raw))

    assert [(i.path, i.code) for i in issues] == [("/full_name", "required")]


def test_a_value_that_does_not_convert_is_an_issue_not_an_exception(
    dictionary: Dictionary,
) -> None:
    mapping = compile_mapping(PERSON, dictionary)
    raw = dict(RAW, ngaySinh="1985-03-15", gioiTinh=9)

    mapped = mapping.apply(raw)
    codes = {(i.path, i.code) for i in mapping.issues_of(mapped)}

    assert "date_of_birth" not in mapped.data
    assert ("/date_of_birth", "mapping.date_format") in codes
    assert ("/date_of_birth", "required") not in codes  # said once, by the mapping
    assert ("/sex", "code_not_in_list") in codes  # an unknown source code passes through


def test_an_unknown_element_is_refused_with_every_problem_listed(dictionary: Dictionary) -> None:
    spec = deepcopy(PERSON)
    spec["fields"]["so_ho_chieu"] = {"from": "soHoChieu"}
    spec["fields"]["biet_danh"] = {"from": "bietDanh"}
    spec["fields"]["sex"] = {"from": "gioiTinh", "codes": {"1": "M", "2": "X"}}
    spec["fields"]["date_of_birth"] = {"from": "ngaySinh", "date_format": "%d/%q/%Y"}
    spec["fields"]["full_name"] = {"from": "hoTen", "transforms": ["capitalise"]}
    spec["fields"]["citizen_id"] = {"transforms": ["strip"]}
    spec["fields"]["is_deceased"] = {"from": "daMat", "number": "decimal_comma"}

    with pytest.raises(MappingError) as refused:
        compile_mapping(spec, dictionary)

    found = {(p["path"], p["code"]) for p in refused.value.problems}
    assert found == {
        ("fields.so_ho_chieu", "unknown_element"),
        ("fields.biet_danh", "unknown_element"),
        ("fields.sex.codes", "unknown_code"),
        ("fields.date_of_birth.date_format", "bad_date_format"),
        ("fields.full_name.transforms[0]", "unknown_transform"),
        ("fields.citizen_id", "missing_from"),
        ("fields.is_deceased", "type_mismatch"),
    }
    assert all(p["message"] for p in refused.value.problems)
    assert refused.value.code == "invalid_mapping"


@pytest.mark.parametrize(
    ("field", "spec"),
    [
        ("date_of_birth", {"from": "x", "number": "decimal_comma"}),
        ("is_deceased", {"from": "x", "transforms": ["upper"]}),
        ("sex", {"from": "x", "transforms": ["int"]}),
        ("is_deceased", {"join": ["a", "b"]}),
        ("household_id", {"from": "x", "transforms": ["boolean"]}),
        ("nationality", {"const": 84}),
        ("is_deceased", {"from": "x", "default": "khong"}),
    ],
)
def test_a_transform_that_cannot_produce_the_target_type_is_a_type_mismatch(
    dictionary: Dictionary, field: str, spec: dict[str, Any]
) -> None:
    mapping = deepcopy(PERSON)
    mapping["fields"][field] = spec

    with pytest.raises(MappingError) as refused:
        compile_mapping(mapping, dictionary)

    assert "type_mismatch" in {p["code"] for p in refused.value.problems}


def test_unknown_record_type_version_and_keys_are_refused(dictionary: Dictionary) -> None:
    with pytest.raises(MappingError) as unknown_type:
        compile_mapping({**PERSON, "record_type": "Passport"}, dictionary)
    assert {p["code"] for p in unknown_type.value.problems} == {"unknown_record_type"}

    with pytest.raises(MappingError) as unknown_version:
        compile_mapping(PERSON, dictionary, version="9.9.9")
    assert {p["code"] for p in unknown_version.value.problems} == {"unknown_version"}

    broken = {**PERSON, "respone": {}, "request": {"path": "/api/cong-dan"}}
    with pytest.raises(MappingError) as bad_keys:
        compile_mapping(broken, dictionary)
    assert {(p["path"], p["code"]) for p in bad_keys.value.problems} == {
        ("respone", "unknown_key"),
        ("request.path", "bad_path"),
    }


def test_an_unmapped_required_field_is_refused(dictionary: Dictionary) -> None:
    spec = deepcopy(PERSON)
    del spec["fields"]["sex"]

    with pytest.raises(MappingError) as refused:
        compile_mapping(spec, dictionary)

    assert [(p["path"], p["code"]) for p in refused.value.problems] == [
        ("fields.sex", "missing_required")
    ]


LAND_PARCEL: dict[str, Any] = {
    "record_type": "LandParcel",
    "request": {"path": "/dat-dai/thua-dat?chuSoHuu={subject_id}"},
    "response": {"records_at": "ketQua.danhSach"},
    "source_reference": {"join": ["soToBanDo", "soThua"], "sep": "/"},
    "last_updated": "capNhatLuc",
    "fields": {
        "parcel_id": {"from": "maThua", "transforms": ["strip", "upper"]},
        "map_sheet_number": {"from": "soToBanDo", "transforms": ["int"]},
        "parcel_number": {"from": "soThua", "transforms": ["int"]},
        "province_code": {"from": "maTinh", "transforms": [{"zfill": 2}]},
        "area_m2": {"from": "dienTich", "number": "decimal_comma"},
        "land_use_purpose": {"from": "mucDich", "transforms": ["upper"]},
        "land_use_term": {"from": "thoiHan", "transforms": ["strip"]},
        "owner_citizen_id": {"from": "chuSoHuu.soDinhDanh"},
    },
}


def test_decimal_comma_numbers_integers_and_references(dictionary: Dictionary) -> None:
    mapping = compile_mapping(LAND_PARCEL, dictionary)
    purpose = sorted(dictionary.codes_as_of("land_use_purpose"))[0]
    raw = {
        "maThua": " 01-123-45 ",
        "soToBanDo": "12",
        "soThua": 345,
        "maTinh": 1,
        "dienTich": "1.234,5",
        "mucDich": purpose.lower(),
        "thoiHan": "   ",
        "chuSoHuu": {"soDinhDanh": "001085012345"},
        "capNhatLuc": "2024-05-06",
    }

    mapped = mapping.apply(raw)

    assert mapped.data == {
        "parcel_id": "01-123-45",
        "map_sheet_number": 12,
        "parcel_number": 345,
        "province_code": "01",
        "area_m2": 1234.5,
        "land_use_purpose": purpose,
        "owner_citizen_id": "001085012345",
    }
    assert mapped.source_reference == "12/345"
    assert mapped.last_updated is not None and mapped.last_updated.year == 2024
    assert mapping.issues_of(mapped) == []
    assert mapping.records_at == ("ketQua", "danhSach")


@pytest.mark.parametrize(
    ("text", "number"),
    [("120,5", 120.5), ("1.234.567,25", 1234567.25), ("42", 42), ("1.000", 1000), (7.5, 7.5)],
)
def test_decimal_comma_reading(dictionary: Dictionary, text: object, number: float) -> None:
    mapping = compile_mapping(LAND_PARCEL, dictionary)
    assert mapping.apply({"dienTich": text}).data["area_m2"] == number


@pytest.mark.parametrize("text", ["120.5", "12,3,4", "mười", "1.23,4"])
def test_an_ambiguous_decimal_comma_number_is_an_issue(dictionary: Dictionary, text: str) -> None:
    mapping = compile_mapping(LAND_PARCEL, dictionary)
    mapped = mapping.apply({"dienTich": text})
    assert "area_m2" not in mapped.data
    assert [i.code for i in mapped.issues] == ["mapping.number"]


def test_split_and_title_and_defaults(dictionary: Dictionary) -> None:
    spec = deepcopy(PERSON)
    spec["fields"]["full_name"] = {"from": "hoVaTen", "transforms": ["strip", "title"]}
    spec["fields"]["other_name"] = {"from": "hoVaTen", "split": {"sep": " ", "index": -1}}
    spec["fields"]["nationality"] = {"from": "quocTich", "default": "VN"}
    mapping = compile_mapping(spec, dictionary)

    data = mapping.apply({**RAW, "hoVaTen": "  trần thị BÌNH "}).data

    assert data["full_name"] == "Trần Thị Bình"
    assert data["other_name"] == "BÌNH"
    assert data["nationality"] == "VN"


HOUSEHOLD: dict[str, Any] = {
    "record_type": "Household",
    "request": {"path": "/api/v2/ho-khau/{subject_id}"},
    "response": {"records_at": "duLieu"},
    "fields": {
        "household_id": "soHoKhau",
        "head_citizen_id": "chuHo.soDinhDanh",
        "address_line": {"from": "diaChi", "transforms": ["strip", "nfc"]},
        "province_code": "maTinh",
        "members": {
            "from": "thanhVien",
            "items": {
                "citizen_id": "soDinhDanh",
                "relationship_to_head": {
                    "from": "quanHe",
                    "codes": {"CH": "HEAD", "VO": "SPOUSE", "CON": "CHILD"},
                },
            },
        },
    },
}


def test_a_list_of_objects_maps_item_by_item(dictionary: Dictionary) -> None:
    mapping = compile_mapping(HOUSEHOLD, dictionary)
    raw = {
        "soHoKhau": "0100012345",
        "chuHo": {"soDinhDanh": "001085012345"},
        "diaChi": " Số 12 phố Huế ",
        "maTinh": "01",
        "thanhVien": [
            {"soDinhDanh": "001085012345", "quanHe": "CH"},
            {"soDinhDanh": "001188034567", "quanHe": "VO"},
        ],
    }

    mapped = mapping.apply(raw)

    assert mapped.data["members"] == [
        {"citizen_id": "001085012345", "relationship_to_head": "HEAD"},
        {"citizen_id": "001188034567", "relationship_to_head": "SPOUSE"},
    ]
    assert mapping.issues_of(mapped) == []


def test_list_items_name_real_properties(dictionary: Dictionary) -> None:
    spec = deepcopy(HOUSEHOLD)
    spec["fields"]["members"]["items"]["ngay_sinh"] = "ngaySinh"
    spec["fields"]["address_line"] = {"from": "diaChi", "items": {"x": "y"}}

    with pytest.raises(MappingError) as refused:
        compile_mapping(spec, dictionary)

    assert {(p["path"], p["code"]) for p in refused.value.problems} == {
        ("fields.members.items.ngay_sinh", "unknown_element"),
        ("fields.address_line", "type_mismatch"),
    }


def test_a_mapping_compiled_once_is_reused_without_state(dictionary: Dictionary) -> None:
    mapping = compile_mapping(PERSON, dictionary)
    first = mapping.apply(RAW).data
    mapping.apply({"soDinhDanh": "x"})
    assert mapping.apply(RAW).data == first


def test_a_pagination_path_that_does_not_parse_is_refused_at_compile_time(
    dictionary: Dictionary,
) -> None:
    spec = deepcopy(PERSON)
    spec["response"]["pagination"] = {
        "style": "cursor",
        "cursor_param": "cursor",
        "next_at": "trang..tiep",
        "total_at": "tong[",
    }
    with pytest.raises(MappingError) as refused:
        compile_mapping(spec, dictionary)
    assert {(p["path"], p["code"]) for p in refused.value.problems} == {
        ("response.pagination.next_at", "invalid_spec"),
        ("response.pagination.total_at", "invalid_spec"),
    }
