"""Apache Airflow provider for Exotel: place phone calls and wait for their outcome and price."""

__version__ = "0.1.0"
