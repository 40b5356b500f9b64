"""Vietnamese names and places for the synthetic dataset (NFC text, weights roughly as in life)."""

from __future__ import annotations

# Family names with rough shares of the population (per mille).
SURNAMES: tuple[tuple[str, int], ...] = (
    ("Nguyễn", 380),
    ("Trần", 110),
    ("Lê", 95),
    ("Phạm", 70),
    ("Hoàng", 51),
    ("Phan", 45),
    ("Huỳnh", 40),
    ("Vũ", 39),
    ("Võ", 30),
    ("Đặng", 21),
    ("Bùi", 20),
    ("Đỗ", 14),
    ("Hồ", 13),
    ("Ngô", 13),
    ("Dương", 10),
    ("Trương", 10),
    ("Đinh", 8),
    ("Lý", 5),
    ("Lâm", 5),
    ("Mai", 5),
    ("Hà", 5),
    ("Lương", 4),
    ("Cao", 4),
    ("Tạ", 3),
    ("Tô", 3),
)

MALE_MIDDLE_OLD = ("Văn", "Văn", "Văn", "Hữu", "Đức", "Đình", "Công", "Xuân", "Quang")
MALE_MIDDLE_NEW = ("Minh", "Quốc", "Gia", "Hoàng", "Tuấn", "Thành", "Đức", "Văn", "Anh", "Bảo")
FEMALE_MIDDLE_OLD = ("Thị", "Thị", "Thị", "Thị", "Thu", "Kim", "Ngọc", "Thanh", "Bích")
FEMALE_MIDDLE_NEW = ("Ngọc", "Thu", "Thùy", "Phương", "Khánh", "Minh", "Bảo", "Thị", "Hồng", "Mai")

MALE_GIVEN = (
    "An",
    "Bình",
    "Bảo",
    "Cường",
    "Dũng",
    "Duy",
    "Đạt",
    "Hải",
    "Hào",
    "Hiếu",
    "Hoàng",
    "Hùng",
    "Huy",
    "Khang",
    "Khoa",
    "Khôi",
    "Kiên",
    "Lâm",
    "Long",
    "Lộc",
    "Minh",
    "Nam",
    "Nghĩa",
    "Phong",
    "Phúc",
    "Quân",
    "Quang",
    "Sơn",
    "Tài",
    "Thắng",
    "Thành",
    "Thịnh",
    "Toàn",
    "Trí",
    "Trung",
    "Tuấn",
    "Tùng",
    "Việt",
    "Vinh",
    "Vũ",
)

FEMALE_GIVEN = (
    "Anh",
    "Chi",
    "Diệp",
    "Dung",
    "Giang",
    "Hà",
    "Hạnh",
    "Hằng",
    "Hân",
    "Hiền",
    "Hoa",
    "Hồng",
    "Huyền",
    "Hương",
    "Lan",
    "Linh",
    "Loan",
    "Mai",
    "My",
    "Nga",
    "Ngân",
    "Ngọc",
    "Nhi",
    "Nhung",
    "Oanh",
    "Phương",
    "Quyên",
    "Quỳnh",
    "Tâm",
    "Thảo",
    "Thu",
    "Thư",
    "Thủy",
    "Trang",
    "Trâm",
    "Uyên",
    "Vân",
    "Vy",
    "Xuân",
    "Yến",
)

# Ethnic group codes (dictionary code list ethnic_group) with rough shares (per ten thousand).
ETHNIC_GROUPS: tuple[tuple[str, int], ...] = (
    ("01", 8540),  # Kinh
    ("02", 190),  # Tày
    ("03", 185),  # Thái
    ("06", 150),  # Mường
    ("08", 150),  # Hmông
    ("05", 135),  # Khơ-me
    ("07", 110),  # Nùng
    ("09", 90),  # Dao
    ("04", 80),  # Hoa
    ("10", 50),  # Gia-rai
    ("12", 40),  # Ê-đê
)

STREETS = (
    "Lê Lợi",
    "Trần Hưng Đạo",
    "Nguyễn Trãi",
    "Hai Bà Trưng",
    "Lý Thường Kiệt",
    "Quang Trung",
    "Hùng Vương",
    "Phan Chu Trinh",
    "Ngô Quyền",
    "Điện Biên Phủ",
    "Nguyễn Huệ",
    "Võ Thị Sáu",
    "Lê Duẩn",
    "Trường Chinh",
)

PLACES = (
    "Tân Phong",
    "Hòa Bình",
    "Đông Hải",
    "An Phú",
    "Phú Lợi",
    "Thạnh Mỹ",
    "Quang Minh",
    "Yên Hòa",
    "Bình An",
    "Tân Thành",
    "Đồng Tâm",
    "Minh Khai",
    "Phước Long",
    "Xuân La",
)

VILLAGES = ("Đông", "Đoài", "Thượng", "Hạ", "Trung", "Nam", "Bắc", "Tiền", "Hậu")
