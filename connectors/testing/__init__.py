"""The connector conformance kit: the same standard cases for every connector, real sources only."""

from connectors.testing._cases import CASES, Case, CaseConfig, read_all, read_pages
from connectors.testing.data import make_id_number
from connectors.testing.factory import ConnectorFactory, connector_test_class, mapping_test_class

__all__ = [
    "CASES",
    "Case",
    "CaseConfig",
    "ConnectorFactory",
    "connector_test_class",
    "mapping_test_class",
    "make_id_number",
    "read_all",
    "read_pages",
]
