"""A local stand-in for the Zoho Books v3 API and the Zoho accounts server.

``from zoho_sim import ZohoSimulator``; see ``zoho_sim/README.md``.
"""

from .config import FAULT_KINDS, Scale, SimConfig
from .dataset import NotFound
from .simulator import ZohoSimulator

__all__ = ["FAULT_KINDS", "NotFound", "Scale", "SimConfig", "ZohoSimulator"]
