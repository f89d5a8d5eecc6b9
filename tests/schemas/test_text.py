from __future__ import annotations

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas import text


def test_clean_name_and_text() -> None:
    names = pa.array([" 张\u3000三 ", "李四", "王　五", "", None, "ＡＢ 12"])
    assert text.clean_name(names).to_pylist() == ["张三", "李四", "王五", None, None, "AB12"]
    addresses = pa.array(["  宁夏银川市兴庆区解放西街１２号", "宁夏银川市  金凤区", "宁夏银川市"])
    assert text.clean_text(addresses).to_pylist() == ["宁夏银川市兴庆区解放西街12号", "宁夏银川市 金凤区", "宁夏银川市"]


def test_detection_finds_what_cleaning_would_change_on_a_slice() -> None:
    values = pa.array(["a", "b c", "ｃ", "中文", "中\u3000文", None, "x\t"]).slice(1)
    assert text.needs_cleaning(values).tolist() == [True, True, False, True, False, True]


ALPHABET = st.sampled_from([*"张三李四宁夏银川abc12", " ", "\u3000", "\t", "１", "Ａ"])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(ALPHABET, max_size=12)), max_size=40))
def test_selective_cleaning_equals_cleaning_everything(values: list[str | None]) -> None:
    arr = pa.array(values, pa.string())
    full_text = text.empty_to_null(text._nfkc_single_spaces(arr))
    full_name = text.empty_to_null(text._nfkc_no_spaces(arr))
    assert text.clean_text(arr).to_pylist() == full_text.to_pylist()
    assert text.clean_name(arr).to_pylist() == full_name.to_pylist()
