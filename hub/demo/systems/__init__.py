"""The five simulated source systems, each a real server, file or database."""

from hub.demo.systems.chengdu import ChengduPlatform
from hub.demo.systems.county import create_county_db
from hub.demo.systems.ledger import LedgerFiles, write_ledger
from hub.demo.systems.study import StudyPlatform
from hub.demo.systems.zhejiang import ZhejiangPlatform, signed_params

__all__ = [
    "ChengduPlatform",
    "LedgerFiles",
    "StudyPlatform",
    "ZhejiangPlatform",
    "create_county_db",
    "signed_params",
    "write_ledger",
]
