"""A local stand-in for the Zoho Books v3 API and the Zoho accounts server.

``from zoho_sim import ZohoSimulator``; see ``zoho_sim/README.md``.
"""

from .config import DEFAULT_FAULT_KINDS, FAULT_KINDS, Scale, SimConfig
from .dataset import NotFound
from .hostile import HOSTILE_VALUES
from .simulator import ZohoSimulator

__all__ = [
    "DEFAULT_FAULT_KINDS",
    "FAULT_KINDS",
    "HOSTILE_VALUES",
    "NotFound",
    "Scale",
    "SimConfig",
    "ZohoSimulator",
]
