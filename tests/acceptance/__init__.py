"""Acceptance tests: the numbers a manager reads, on the bundled CDNOW log and on a retailer-like invoice export."""
