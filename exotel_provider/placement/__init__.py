"""The never-call-twice guard: what a task remembers across retries, and how a call whose placing
answer was lost is found again. No Airflow imports."""
