"""Exporters shared by every report: Thai-font PDF (WeasyPrint), XLSX (XlsxWriter), HTML helpers."""
