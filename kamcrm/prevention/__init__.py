"""Complaint prevention: each class 1-3 office's yearly plan and its quarter reports (CR2 plan 2.2)."""
