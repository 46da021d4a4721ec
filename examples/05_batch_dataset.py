"""Batch over a dataset: classify every row concurrently, with a jitted comprehension
and with ``vmap`` over the dataset's columns.

Runs offline on the simulated provider.
"""

import time

from ember.api.models import models
from ember.models import SimulatedProvider
from ember.xcs import Config, get_jit_stats, jit, vmap

models.register_provider("simulated", SimulatedProvider(latency=0.1, max_concurrency=8))

DATASET = [
    {"id": i, "text": text}
    for i, text in enumerate(
        [
            "The delivery was late and the box was damaged.",
            "Great service, would order again!",
            "It works, nothing special.",
            "Terrible support experience.",
            "Exceeded my expectations in every way.",
            "Average quality for the price.",
            "I love it.",
            "Not what I ordered.",
            "Fast shipping, decent product.",
            "Would not recommend.",
            "Perfect gift.",
            "Okay-ish.",
        ]
    )
]

classify = models.instance("simulated/classifier", temperature=0)


def label_rows(rows):
    return [
        {
            "id": row["id"],
            "label": classify(
                f"Sentiment of: {row['text']}\nAnswer with one of: positive, neutral, negative"
            ),
        }
        for row in rows
    ]


start = time.perf_counter()
plain = label_rows(DATASET)
plain_seconds = time.perf_counter() - start

fast_label_rows = jit(label_rows)
start = time.perf_counter()
fast = fast_label_rows(DATASET)
jit_seconds = time.perf_counter() - start

for row in fast[:4]:
    print(row["id"], row["label"])
print(
    f"{len(DATASET)} rows (max_concurrency=8): plain {plain_seconds:.2f} s, "
    f"jit {jit_seconds:.2f} s, identical: {fast == plain}"
)
print(
    "graph width (calls that could run together):",
    get_jit_stats(fast_label_rows)["max_parallelism"],
)

# The same batch with vmap: columns of equal length are mapped, everything else is
# broadcast to every item, and the result is a dict of lists.


def label_row(inputs):
    return {"id": inputs["id"], "label": classify(inputs["prompt"].format(text=inputs["text"]))}


columns = {
    "id": [row["id"] for row in DATASET],
    "text": [row["text"] for row in DATASET],
    "prompt": "Sentiment of: {text}\nAnswer with one of: positive, neutral, negative",
}
start = time.perf_counter()
batched = vmap(label_row, config=Config(max_workers=16))(inputs=columns)
vmap_seconds = time.perf_counter() - start
same = batched["label"] == [row["label"] for row in plain]
print(f"vmap over {len(columns['id'])} rows: {vmap_seconds:.2f} s, same labels: {same}")
