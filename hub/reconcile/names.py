"""Names as two clerks may write the same person: traditional or simplified characters, and a
similar-sounding character keyed by mistake (伟/玮, 静/靖).

`simplified(name)` folds the traditional forms common in names to simplified (a small table:
opencc's full dictionaries would be a large dependency for the few hundred characters names
use); `sound_key(name)` is the toneless pinyin of the name, so homophones compare equal;
`name_similarity(a, b)` scores two names 0..1 with the reason for the score.
"""

from __future__ import annotations

import functools
import unicodedata

from rapidfuzz.distance import Levenshtein

__all__ = ["TRADITIONAL_PAIRS", "simplified", "sound_key", "surname", "name_similarity",
           "NameScore"]

# traditional -> simplified for characters common in Chinese personal names and surnames
_TRADITIONAL = (
    "陳陈 張张 劉刘 楊杨 黃黄 趙赵 吳吴 週周 孫孙 馬马 鄭郑 謝谢 韓韩 馮冯 鄧邓 曾曾 蕭萧 "
    "葉叶 蘇苏 "
    "呂吕 魏魏 沈沈 盧卢 鍾钟 譚谭 陸陆 範范 賈贾 韋韦 鄒邹 龍龙 劉刘 羅罗 許许 蔣蒋 蔡蔡 餘余 "
    "傑杰 偉伟 強强 軍军 濤涛 輝辉 鵬鹏 華华 飛飞 斌斌 波波 東东 國国 誌志 長长 興兴 寶宝 貴贵 "
    "榮荣 雲云 萬万 齊齐 義义 樂乐 學学 與与 鳳凤 麗丽 豔艳 艷艳 娟娟 霞霞 燕燕 蓮莲 紅红 梅梅 "
    "琴琴 愛爱 玲玲 蘭兰 鑫鑫 聖圣 傳传 賢贤 順顺 進进 連连 達达 運运 遠远 鋒锋 銀银 鐵铁 錢钱 "
    "靜静 慶庆 權权 廣广 歡欢 節节 從从 鳴鸣 鶴鹤 龐庞 嚴严 關关 顧顾 黎黎 賀贺 陶陶 湯汤 溫温 "
    "盧卢 蓋盖 閻阎 閆闫 鄺邝 薑姜 單单 戰战 項项 馮冯 雙双 倫伦 禮礼 儀仪 彥彦 維维 紹绍 麥麦"
)
#: (traditional, simplified) pairs, for vectorised folding (hub.reconcile.matching)
TRADITIONAL_PAIRS: tuple[tuple[str, str], ...] = tuple(
    (p[0], p[1]) for p in dict.fromkeys(_TRADITIONAL.split()) if len(p) == 2 and p[0] != p[1])
_FOLD: dict[int, str] = {ord(t): s for t, s in TRADITIONAL_PAIRS}


def simplified(name: str) -> str:
    """NFKC (full-width letters and spaces from Excel), no spaces or middle dots, simplified."""
    text = unicodedata.normalize("NFKC", name)
    text = "".join(c for c in text if not c.isspace() and c not in "·•・.")
    return text.translate(_FOLD)


@functools.lru_cache(maxsize=65536)
def sound_key(name: str) -> str:
    """Toneless pinyin of the simplified name, syllables joined by spaces: 王玮 -> "wang wei".

    pypinyin is imported here, on the first name: its phrase dictionary takes ~0.5 s to load,
    and every `yanxing` command imports this module through the CLI's command list."""
    from pypinyin import Style, lazy_pinyin

    return " ".join(lazy_pinyin(simplified(name), style=Style.NORMAL, errors="default"))


def surname(name: str) -> str:
    """The first character of the simplified name (blocking key; compound surnames are rare
    enough that the phone block catches those)."""
    folded = simplified(name)
    return folded[:1]


class NameScore(tuple[float, str]):
    """(similarity 0..1, reason): the reason is one of `name`, `name_variant` (traditional /
    simplified or spacing), `name_homophone` (same pinyin), `name_similar`."""

    __slots__ = ()

    @property
    def score(self) -> float:
        return self[0]

    @property
    def reason(self) -> str:
        return self[1]


def name_similarity(a: str, b: str) -> NameScore:
    """How alike two names are, and why. Exact 1.0; same after folding 0.95; same sound 0.85;
    else the normalised Levenshtein similarity of the folded names (rapidfuzz), scaled below
    the homophone score so a guess never outranks a reason."""
    if a == b:
        return NameScore((1.0, "name"))
    fa, fb = simplified(a), simplified(b)
    if fa == fb:
        return NameScore((0.95, "name_variant"))
    if len(fa) == len(fb) and sound_key(fa) == sound_key(fb):
        return NameScore((0.85, "name_homophone"))
    return NameScore((round(0.8 * Levenshtein.normalized_similarity(fa, fb), 3), "name_similar"))
