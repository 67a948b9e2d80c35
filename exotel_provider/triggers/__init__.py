"""Airflow adapter."""
