"""The medical birth certificates (giấy chứng sinh) the civil-status mock serves.

Under the interconnected birth-registration procedure (Decree 63/2024/ND-CP) the health
facility where a child is born sends the electronic certificate to the civil-status register,
which holds it under the mother's citizen ID until the birth is registered. Which women have
one, and what it says, is :meth:`Dataset.birth_certificates`: births of the last 60 days before
the reference date, and always the demo couples' (:meth:`Dataset.demo_mothers`).

================================================  ========================================
GET /hotich/v1/giay-chung-sinh?soDinhDanhMe=      the certificates held under the mother's ID
GET /hotich/v1/giay-chung-sinh?batDau=&soLuong=   all certificates, by offset (no total)
================================================  ========================================

An item::

    {"soGiayChungSinh": "235996/2026/GCS", "ngayCap": "dd/mm/yyyy",
     "me": {"soDinhDanh", "hoTen"}, "tre": {"ngaySinh": "dd/mm/yyyy", "gioiTinh": "Nam" | "Nữ"},
     "noiSinh": {"maTinh"}, "coSoYTe": "<the facility>", "maHoSo": "GCS-...",
     "thoiGianCapNhat": "yyyy-mm-ddTHH:MM:SS"}

A mother's list is in order of birth (twins have one certificate each). A mother with none, or
a citizen ID the register does not know, is a 404 ``HT-404``. Registering the birth
(``POST /hotich/v1/khai-sinh``) does not remove the certificate, and certificates are not in
the change feed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from connectors.mocks.dataset import BirthCertificate, Dataset
from connectors.mocks.formats import dmy, reference
from connectors.mocks.server import Call, NotFound, Reply, Route

PATH = "/hotich/v1/giay-chung-sinh"
SEX = {"M": "Nam", "F": "Nữ"}
SYSTEM = "civil-status"


def certificate_route(dataset: Dataset, answer: Callable[..., Reply], timestamp: str) -> Route:
    """``GET /hotich/v1/giay-chung-sinh``, answered in the register's envelope (``answer``)."""

    def body(certificate: BirthCertificate) -> dict[str, Any]:
        mother = certificate.mother
        updated = dataset.last_updated(mother, SYSTEM, certificate.issued)
        return {
            "soGiayChungSinh": certificate.certificate_number,
            "ngayCap": dmy(certificate.issued),
            "me": {"soDinhDanh": dataset.citizen_id(mother), "hoTen": dataset.civil_name(mother)},
            "tre": {
                "ngaySinh": dmy(certificate.child_date_of_birth),
                "gioiTinh": SEX[certificate.child_sex],
            },
            "noiSinh": {"maTinh": certificate.province_code},
            "coSoYTe": certificate.facility,
            "maHoSo": reference("GCS", dataset.seed, 5, mother, certificate.ordinal),
            "thoiGianCapNhat": updated.strftime(timestamp),
        }

    def get_certificates(call: Call) -> Reply:
        mother_id = call.query.get("soDinhDanhMe")
        if mother_id is None:
            # Like the deaths, the register does not count them up front: page until short.
            start = call.int_param("batDau", 0, 0, 10**9)
            count = call.int_param("soLuong", 50, 1, 500)
            items = [body(c) for c in dataset.certificates_held(start, count)]
            return answer(items, batDau=start, soLuong=len(items))
        index = dataset.index_of(mother_id)
        held = dataset.birth_certificates(index) if index is not None else []
        if not held:
            raise NotFound(f"Không có giấy chứng sinh nào của người mẹ {mother_id}")
        return answer([body(c) for c in held])

    return Route("GET", PATH, get_certificates)
