#!/usr/bin/env python3
"""Reads a TensorBoard run folder with TensorBoard's own EventAccumulator and
prints its scalars as one JSON object: {"tag": [[step, value], ...], ...}.

The tests use it to check Backprop's event files as TensorBoard reads them
(with its default purge of events a restarted run replaced). Needs the
`tensorboard` package: tools/test.sh installs it into tools/.test-venv.
Usage: read_tensorboard.py RUN_FOLDER
"""
import json
import sys

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator


def main():
    accumulator = EventAccumulator(sys.argv[1], size_guidance={"scalars": 0})
    accumulator.Reload()
    scalars = {
        tag: [[event.step, event.value] for event in accumulator.Scalars(tag)]
        for tag in accumulator.Tags()["scalars"]
    }
    print(json.dumps(scalars, sort_keys=True))


if __name__ == "__main__":
    main()
