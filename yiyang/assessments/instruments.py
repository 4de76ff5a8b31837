"""Assessment instruments as versioned data: items, answer options and scores, grade bands.

GB/T 42195-2022 《老年人能力评估规范》: 26 second-level items in four first-level
dimensions, total 0–90 (higher is better). Option wording follows the standard's
Annex B as published in public guidance; the exact text is UNVERIFIED against the
official edition (see shared/data/standards.md), so it lives here as data.

MZ/T 039-2013 《老年人能力评估》 is kept for historic records: its form is recorded
as the four dimension grades (0–3, higher is worse) that its matrix combines.
An assessment stores the code of the instrument it used.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Item:
    code: str
    name: str
    options: tuple[tuple[int, str], ...]  # (score, wording), best first

    @property
    def max_score(self) -> int:
        return max(score for score, _ in self.options)

    @property
    def scores(self) -> frozenset[int]:
        return frozenset(score for score, _ in self.options)


@dataclass(frozen=True)
class Dimension:
    code: str
    name: str
    items: tuple[Item, ...]

    @property
    def max_score(self) -> int:
        return sum(item.max_score for item in self.items)


@dataclass(frozen=True)
class Instrument:
    code: str
    name: str
    dimensions: tuple[Dimension, ...]
    # (lowest total, grade) from the best band down; the first band whose lowest total is met applies.
    # Empty for an instrument graded by a matrix of dimension grades (MZ/T 039-2013).
    grade_bands: tuple[tuple[int, int], ...]
    grade_names: tuple[str, ...]  # indexed by grade

    @property
    def items(self) -> dict[str, Item]:
        return {item.code: item for dim in self.dimensions for item in dim.items}

    @property
    def max_total(self) -> int:
        return sum(dim.max_score for dim in self.dimensions)


GRADE_NAMES = ("能力完好", "轻度失能", "中度失能", "重度失能", "完全失能")

_COMMON = (
    (4, "独立完成"),
    (3, "在他人指导或提示下完成"),
    (2, "需要他人协助，但以自身完成为主"),
    (1, "主要依靠他人协助，自身能给予配合"),
    (0, "完全依赖他人协助，且不能给予配合"),
)


def _common(code: str, name: str) -> Item:
    return Item(code, name, _COMMON)


SELF_CARE = Dimension("B.1", "自理能力", (
    _common("B.1.1", "进食"),
    _common("B.1.2", "修饰"),
    _common("B.1.3", "洗澡"),
    _common("B.1.4", "穿/脱上衣"),
    _common("B.1.5", "穿/脱裤子和鞋袜"),
    Item("B.1.6", "小便控制", (
        (4, "可自行控制排尿，排尿次数、排尿控制均正常"),
        (3, "白天可自行控制排尿次数，夜间出现排尿次数增多、排尿控制较差，或自行使用尿布、尿垫等辅助用物"),
        (2, "白天大部分时间可自行控制排尿，偶出现尿失禁（每天<1次，但每周>1次），夜间控制排尿较差，或他人少量协助使用尿布、尿垫等辅助用物"),
        (1, "白天大部分时间不能控制排尿（每天≥1次，但尚非完全失控），夜间出现尿失禁，或他人大量协助使用尿布、尿垫等辅助用物"),
        (0, "小便失禁，完全不能控制排尿，或留置导尿管"),
    )),
    Item("B.1.7", "大便控制", (
        (4, "可正常自行控制大便排出"),
        (3, "有时出现（每周<1次）便秘或大便失禁，或自行使用开塞露、尿垫等辅助用物"),
        (2, "经常出现（每天<1次，但每周>1次）便秘或大便失禁，或他人少量协助使用开塞露、尿垫等辅助用物"),
        (1, "大部分时间均出现（每天≥1次）便秘或大便失禁，但尚非完全失控，或他人大量协助使用开塞露、尿垫等辅助用物"),
        (0, "严重便秘或者完全大便失禁，需要依赖他人协助排便或清洁皮肤"),
    )),
    _common("B.1.8", "如厕"),
))

BASIC_MOBILITY = Dimension("B.2", "基础运动能力", (
    _common("B.2.1", "床上体位转移"),
    _common("B.2.2", "床椅转移"),
    Item("B.2.3", "平地行走", (
        (4, "可独立平地步行50 m左右，且无摔倒风险"),
        (3, "能平地步行50 m左右，存在摔倒风险，需要他人监护或指导，或使用拐杖、助行器等辅助工具"),
        (2, "在步行时需要他人少量扶持协助"),
        (1, "在步行时需要他人大量扶持协助"),
        (0, "完全不能步行"),
    )),
    Item("B.2.4", "上下楼梯", (
        (3, "可独立上下楼梯（连续上下10～15个台阶），不需要协助"),
        (2, "在他人指导或提示下完成"),
        (1, "需要他人协助，但以自身完成为主"),
        (0, "主要依靠他人协助，自身能给予配合；或者完全依赖他人协助，且不能给予配合"),
    )),
))

MENTAL_STATE = Dimension("B.3", "精神状态", (
    Item("B.3.1", "时间定向", (
        (4, "时间观念（年、月）清楚，日期（或星期几）可相差一天"),
        (3, "时间观念有些下降，年、月、日（或星期几）不能全部分清（相差两天或以上）"),
        (2, "时间观念较差，年、月、日不清楚，可知上半年或下半年或季节"),
        (1, "时间观念很差，年、月、日不清楚，可知上午、下午或白天、夜间"),
        (0, "无时间观念"),
    )),
    Item("B.3.2", "空间定向", (
        (4, "能在日常生活范围内单独外出，如在日常居住小区内独自外出购物等"),
        (3, "不能单独外出，但能准确知道自己日常生活所在地的地址信息"),
        (2, "不能单独外出，但知道较多有关自己日常生活的地址信息"),
        (1, "不能单独外出，但知道较少自己居住或生活所在地的地址信息"),
        (0, "不能单独外出，无空间观念"),
    )),
    Item("B.3.3", "人物定向", (
        (4, "认识长期共同一起生活的人，能称呼并知道关系"),
        (3, "能认识大部分共同生活居住的人，能称呼或知道关系"),
        (2, "能认识部分日常同住的亲人或照护者等，能称呼或知道关系等"),
        (1, "只认识自己或极少数日常同住的亲人或照护者等"),
        (0, "不认识任何人（包括自己）"),
    )),
    Item("B.3.4", "记忆", (
        (4, "总是能保持与社会、年龄所适应的记忆能力，能完整地回忆"),
        (3, "出现轻度的记忆紊乱或回忆不能（不能回忆即时信息，3个词语经过5分钟后仅能回忆0～1个）"),
        (2, "出现中度的记忆紊乱或回忆不能（不能回忆近期记忆，不记得上一顿饭吃了什么）"),
        (1, "出现重度的记忆紊乱或回忆不能（不能回忆远期记忆，不记得自己的老朋友）"),
        (0, "记忆完全紊乱或者完全不能对既往事物进行正确的回忆"),
    )),
    Item("B.3.5", "理解能力", (
        (4, "能正常理解他人的话"),
        (3, "能理解他人的话，但需要增加时间"),
        (2, "理解有困难，需频繁重复或简化口头表达"),
        (1, "理解有严重困难，需要大量他人帮助"),
        (0, "完全不能理解他人的话"),
    )),
    Item("B.3.6", "表达能力", (
        (4, "能正常表达自己的想法"),
        (3, "能表达自己的需要，但需要增加时间"),
        (2, "表达需要有困难，需频繁重复或简化口头表达"),
        (1, "表达有严重困难，需要大量他人帮助"),
        (0, "完全不能表达需要"),
    )),
    Item("B.3.7", "攻击行为", ((1, "未出现"), (0, "近一个月内出现过攻击行为"))),
    Item("B.3.8", "抑郁症状", ((1, "未出现"), (0, "近一个月内出现过负性情绪"))),
    Item("B.3.9", "意识水平", (
        (2, "神志清醒，对周围环境能做出正确反应"),
        (1, "嗜睡或昏睡：睡眠状态过度延长，能被唤醒但反应迟钝或需强烈刺激"),
        (0, "昏迷：对刺激无反应或仅有回避反应（评定为昏迷的，直接评定为完全失能）"),
    )),
))

PERCEPTION_SOCIAL = Dimension("B.4", "感知觉与社会参与", (
    Item("B.4.1", "视力", (
        (2, "视力正常"),
        (1, "能看清楚大字体，但看不清书报上的标准字体；视力有限，看不清报纸大标题，但能辨认物体"),
        (0, "只能看到光、颜色和形状；完全失明"),
    )),
    Item("B.4.2", "听力", (
        (2, "听力正常"),
        (1, "在轻声说话或说话距离超过2 m时听不清；正常交流有些困难，需在安静的环境或大声说话才能听到"),
        (0, "讲话者大声说话或说话很慢，才能部分听见；完全失聪"),
    )),
    Item("B.4.3", "执行日常事务", (
        (4, "能完全独立计划、安排和完成日常事务，无需协助"),
        (3, "在计划、安排和完成日常事务时需要他人监护或指导"),
        (2, "在计划、安排和完成日常事务时需要少量协助"),
        (1, "在计划、安排和完成日常事务时需要大量协助"),
        (0, "完全依赖他人进行日常事务"),
    )),
    Item("B.4.4", "使用交通工具外出", (
        (3, "能自己骑车或搭乘公共交通工具外出"),
        (2, "能自己搭乘出租车，但不会搭乘其他公共交通工具外出"),
        (1, "当有人协助或陪伴，可搭乘公共交通工具外出"),
        (0, "只能在他人协助下搭乘出租车或私家车外出；完全不能出门，或者外出完全需要协助"),
    )),
    Item("B.4.5", "社会交往能力", (
        (4, "参与社会，在社会环境有一定的适应能力，待人接物恰当"),
        (3, "能适应单纯环境，主动接触他人，初见面时难让人发现智力问题，不能理解隐喻语"),
        (2, "脱离社会，可被动接触，不会主动待人，谈话中很多不适词句，容易上当受骗"),
        (1, "勉强可与他人接触，谈吐内容不清楚，表情不恰当"),
        (0, "不能与人交往"),
    )),
))

GB_T_42195_2022 = Instrument(
    code="GB/T 42195-2022",
    name="老年人能力评估规范",
    dimensions=(SELF_CARE, BASIC_MOBILITY, MENTAL_STATE, PERCEPTION_SOCIAL),
    # C.3: 90 → 0; 66–89 → 1; 46–65 → 2; 30–45 → 3; 0–29 → 4.
    grade_bands=((90, 0), (66, 1), (46, 2), (30, 3), (0, 4)),
    grade_names=GRADE_NAMES,
)


def _dimension_grade(code: str, name: str) -> Dimension:
    """An MZ/T 039-2013 dimension recorded as its grade (the item scores behind it are not kept)."""
    return Dimension(code, name, (Item(code, name, (
        (0, "能力完好"), (1, "轻度受损"), (2, "中度受损"), (3, "重度受损"),
    )),))


MZ_T_039_2013 = Instrument(
    code="MZ/T 039-2013",
    name="老年人能力评估",
    # Codes are the parameter names of rules.mzt039_level.
    dimensions=(
        _dimension_grade("adl", "日常生活活动"),
        _dimension_grade("mental", "精神状态"),
        _dimension_grade("perception", "感知觉与沟通"),
        _dimension_grade("social", "社会参与"),
    ),
    grade_bands=(),
    grade_names=GRADE_NAMES[:4],
)

CURRENT = GB_T_42195_2022
INSTRUMENTS = {spec.code: spec for spec in (GB_T_42195_2022, MZ_T_039_2013)}
