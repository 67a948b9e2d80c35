"""Watching many calls and SMS at once: the timing schedule, the batched watcher, and the per-account
registry that lets every trigger of a triggerer process share one watcher. No Airflow imports."""
