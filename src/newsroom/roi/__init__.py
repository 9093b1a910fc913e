"""ROI records, the ledger, prices and reports."""

from newsroom.roi.ledger import RoiLedger

__all__ = ["RoiLedger"]
