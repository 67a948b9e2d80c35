"""Airflow adapter: the notifier that phones someone when a task or a DAG run fails."""
