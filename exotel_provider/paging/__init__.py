"""Paging people about failures: one call per incident (claims every process sees) and escalation
along a list of numbers. No Airflow imports: the claim store and the call client are inputs."""
