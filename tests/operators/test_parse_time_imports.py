"""A DAG file that uses the operator and the sensor loads none of the provider's heavy libraries:
they load on first use (parse cost is measured in bench/watch_campaign.py)."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("requests", "httpx", "tenacity", "xmltodict", "phonenumbers", "redis", "matplotlib")


def test_importing_the_operator_and_sensor_loads_no_heavy_library():
    script = (
        "import json, sys, airflow.sdk\n"
        "before = set(sys.modules)\n"
        "from exotel_provider.operators.exotel import ExotelConnectOperator\n"
        "from exotel_provider.sensors.exotel import ExotelCallSensor\n"
        "ExotelConnectOperator(task_id='p', from_number='+919876543210', app_id=926)\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in set(sys.modules) - before})))\n"
    )
    answer = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    loaded = set(json.loads(answer.stdout.strip().splitlines()[-1]))
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))
