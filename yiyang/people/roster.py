"""The roster (花名册) a township clerk keeps, as data: its columns and the words clerks write.

Imports read this layout and exports write it, so an export can be imported again.
Headers are matched loosely (spaces, full-width characters, common synonyms), and
choice fields accept the Chinese labels clerks use; we always write the first label.
"""

from __future__ import annotations

import io
import re
import unicodedata
from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .idnumber import check_char


@dataclass(frozen=True)
class Column:
    key: str
    header: str  # the heading we write; the first one a clerk would recognise
    synonyms: tuple[str, ...] = ()
    required: bool = False
    text: bool = False  # must stay text in Excel (long digit strings lose digits as numbers)
    help: str = ""


COLUMNS: tuple[Column, ...] = (
    Column("seq", "序号", ("编号", "no"),
           help=gettext_lazy("Optional, not imported. The template's example row is marked 示例 here and is skipped.")),
    Column("name", "姓名", ("老人姓名", "名字"), required=True, help=gettext_lazy("Up to 64 characters.")),
    Column("id_number", "身份证号", ("身份证号码", "公民身份号码", "身份证", "证件号码", "身份证件号码"), required=True, text=True,
           help=gettext_lazy("18 characters (old 15-digit numbers are converted). Format the column as text: "
                             "Excel numbers lose the last digits. Identifies the elder: a row with a registered "
                             "number updates that elder.")),
    Column("sex", "性别", help=gettext_lazy("Optional: checked against the ID number.")),
    Column("birth_date", "出生日期", ("出生年月日", "生日"),
           help=gettext_lazy("Optional: checked against the ID number. A full date, e.g. 1945-03-12 or 1945年3月12日.")),
    Column("phone", "联系电话", ("电话", "手机号", "手机号码", "手机", "本人电话", "联系方式"), text=True,
           help=gettext_lazy("A mobile (11 digits) or a landline with its area code.")),
    Column("area_code", "村（社区）代码", ("村代码", "社区代码", "村（居）代码", "村居代码", "村委会代码", "区划代码",
                                       "行政区划代码", "所在村（社区）代码"), required=True, text=True,
           help=gettext_lazy("The 12-digit code of the village (community) where the elder lives; it must lie in "
                             "your jurisdiction.")),
    Column("address", "现住址", ("现居住地址", "住址", "家庭住址", "居住地址", "现居住地"), help=gettext_lazy("Up to 200 characters.")),
    Column("hukou_area_code", "户籍地代码", ("户籍地区划代码", "户籍代码", "户籍所在地代码"), text=True,
           help=gettext_lazy("6, 9 or 12 digits; may lie outside the city.")),
    Column("living_arrangement", "居住情况", ("居住状况", "居住方式"), help=gettext_lazy("One of the listed values.")),
    Column("hardships", "困难类别", ("困难类型", "特殊困难类别", "人员类别"),
           help=gettext_lazy("Any of the listed values, separated by 、 or a comma. 高龄 follows from the birth date "
                             "and is not recorded. Imports add categories, never close them.")),
    Column("contact_name", "紧急联系人", ("紧急联系人姓名", "联系人", "联系人姓名"),
           help=gettext_lazy("Added to the elder's contacts unless a contact with this name or phone exists.")),
    Column("contact_phone", "紧急联系人电话", ("紧急联系电话", "联系人电话"), text=True,
           help=gettext_lazy("The emergency contact's phone.")),
    Column("contact_relation", "与老人关系", ("关系", "与本人关系", "紧急联系人关系"),
           help=gettext_lazy("One of the listed values; 其他 when empty.")),
    Column("status", "状态", ("人员状态", "在世状态"),
           help=gettext_lazy("Empty keeps the registry's status (在世 for a new elder).")),
    Column("death_date", "死亡日期", ("去世日期", "死亡时间"),
           help=gettext_lazy("Required when the status is 死亡; a date alone (status empty) means 死亡.")),
)
BY_KEY = {column.key: column for column in COLUMNS}
REQUIRED = [column for column in COLUMNS if column.required]
EXAMPLE_MARK = "示例"


def normalize_word(text) -> str:
    """Compare words as clerks mean them: full-width to half-width, no spaces, lower case."""
    return "".join(unicodedata.normalize("NFKC", str(text or "")).split()).lower()


_HEADER_NOISE = re.compile(r"^\*+|\*+$|\((必填|选填|可选)\)$")


def normalize_header(text) -> str:
    """A heading without required-markers (*姓名, 姓名(必填)) and line breaks."""
    return _HEADER_NOISE.sub("", normalize_word(text))


_HEADER_LOOKUP = {normalize_header(word): column.key for column in COLUMNS for word in (column.header, *column.synonyms)}


def column_key(heading) -> str | None:
    """The roster column a heading names, or None."""
    return _HEADER_LOOKUP.get(normalize_header(heading))


class Vocabulary:
    """The words a clerk may write for one choice field; the first word is the one we write."""

    def __init__(self, words: dict[str, tuple[str, ...]]):
        self.labels = {value: options[0] for value, options in words.items()}
        self._values = {normalize_word(w): value for value, options in words.items() for w in (*options, value)}

    def value(self, text) -> str | None:
        value = self._values.get(text)  # most cells hold a listed word as is
        return value if value is not None else self._values.get(normalize_word(text))

    def label(self, value: str) -> str:
        return self.labels.get(value, "")


SEX = Vocabulary({"M": ("男", "男性"), "F": ("女", "女性")})
STATUS = Vocabulary({
    "alive": ("在世", "健在", "正常"),
    "deceased": ("死亡", "已故", "去世", "已死亡", "已去世"),
    "moved_away": ("迁出", "已迁出"),
})
LIVING = Vocabulary({
    "alone": ("独居", "一人居住", "单独居住"),
    "spouse_only": ("仅与配偶同住", "与配偶同住", "夫妻同住", "老两口"),
    "with_children": ("与子女同住", "和子女同住", "子女同住"),
    "with_relatives": ("与其他亲属同住", "与亲属同住", "亲属同住"),
    "with_carer": ("与护工（保姆）同住", "与保姆同住", "与护工同住", "雇请保姆"),
    "institution": ("入住养老机构", "养老机构", "机构养老", "住养老院"),
})
HARDSHIP = Vocabulary({
    "tekun": ("特困", "特困人员", "特困供养"),
    "dibao": ("低保", "低保户", "低保对象"),
    "dibao_edge": ("低保边缘", "低边"),
    "living_alone": ("独居",),
    "empty_nest": ("空巢",),
    "left_behind": ("留守",),
    "disabled": ("失能", "完全失能"),
    "semi_disabled": ("半失能", "部分失能"),
    "severe_disability": ("重残", "重度残疾"),
    "family_planning_special": ("计生特殊家庭", "计划生育特殊家庭", "失独"),
    "advanced_age": ("高龄",),
    "priority_care": ("重点优抚", "优抚对象"),
})
RELATION = Vocabulary({
    "spouse": ("配偶", "妻子", "丈夫", "老伴", "夫妻"),
    "son": ("儿子", "子", "长子", "次子"),
    "daughter": ("女儿", "女", "长女", "次女"),
    "child_in_law": ("儿媳/女婿", "儿媳", "女婿", "媳妇"),
    "grandchild": ("孙子女", "孙子", "孙女", "外孙", "外孙女"),
    "sibling": ("兄弟姐妹", "兄弟", "姐妹", "哥哥", "弟弟", "姐姐", "妹妹"),
    "relative": ("其他亲属", "亲属", "亲戚", "侄子", "侄女"),
    "neighbour": ("邻居",),
    "village_cadre": ("村（社区）干部", "村干部", "社区干部", "网格员"),
    "other": ("其他",),
})
VOCABULARIES = {"sex": SEX, "status": STATUS, "living_arrangement": LIVING, "hardships": HARDSHIP,
                "contact_relation": RELATION}
HARDSHIP_SEPARATORS = re.compile(r"[、,，;；/／\s]+")


def split_hardships(text: str) -> list[str]:
    return [word for word in HARDSHIP_SEPARATORS.split(text.strip()) if word]


def roster_template_xlsx() -> bytes:
    """An empty roster for clerks: the header, one example row, drop-down lists and an instructions sheet."""
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    book = Workbook()
    sheet = book.active
    sheet.title = "花名册"
    sheet.append([column.header for column in COLUMNS])
    sheet.append([example_row()[column.key] for column in COLUMNS])
    for index, column in enumerate(COLUMNS, start=1):
        letter = get_column_letter(index)
        heading = sheet.cell(row=1, column=index)
        heading.font = Font(bold=True, color="C00000" if column.required else "000000")
        heading.fill = PatternFill("solid", fgColor="DDEBF7")
        sheet.column_dimensions[letter].width = 22 if column.text else 14
        if column.text:
            sheet.column_dimensions[letter].number_format = "@"
            sheet.cell(row=2, column=index).number_format = "@"
        vocabulary = VOCABULARIES.get(column.key)
        if vocabulary is not None and column.key != "hardships":
            choices = DataValidation(type="list", formula1='"' + ",".join(vocabulary.labels.values()) + '"', allow_blank=True)
            choices.add(f"{letter}2:{letter}5000")
            sheet.add_data_validation(choices)
    sheet.freeze_panes = "A2"
    _instructions(book.create_sheet("说明"))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def example_row() -> dict[str, str]:
    """A valid, recognisably fictitious row (skipped on import because of its 示例 mark)."""
    first17 = "51070319450312001"
    return {
        "seq": EXAMPLE_MARK, "name": "张三", "id_number": first17 + check_char(first17), "sex": "男",
        "birth_date": "1945-03-12", "phone": "13912345678", "area_code": "510703001001", "address": "示例路1号",
        "hukou_area_code": "510703", "living_arrangement": "独居", "hardships": "特困、独居", "contact_name": "张小三",
        "contact_phone": "13987654321", "contact_relation": "儿子", "status": "在世", "death_date": "",
    }


def _instructions(sheet) -> None:
    from openpyxl.styles import Alignment, Font

    sheet.append([_("Column"), _("Required"), _("Also accepted as heading"), _("Accepted values"), _("Notes")])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for column in COLUMNS:
        vocabulary = VOCABULARIES.get(column.key)
        values = "、".join(vocabulary.labels.values()) if vocabulary else ""
        sheet.append([column.header, _("yes") if column.required else "", "、".join(column.synonyms), values, str(column.help)])
    sheet.append([])
    for note in (
        _("One row per elder; the first sheet whose header row names the required columns is read."),
        _("Empty rows are skipped. An empty cell leaves the registry's value unchanged."),
        _("If any row has an error nothing is imported; the error report lists every row, column and reason."),
        _("Importing the same file again changes nothing."),
    ):
        sheet.append([note])
    for letter, width in zip("ABCDE", (18, 8, 36, 40, 80), strict=True):
        sheet.column_dimensions[letter].width = width
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
