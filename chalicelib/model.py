"""The base of Berth's pydantic models.

Each Lambda imports every model with app.py but validates only a few (a push never reads an S3
event, a spec's strategies or a wide run's tally), and building a model's validator is most of
the cost of defining it. `defer_build` builds each model on its first use instead (issue 17,
cold start); `bench` measures the first push with the models it builds.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Model(BaseModel):
    model_config = ConfigDict(defer_build=True)
