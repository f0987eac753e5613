"""Fit the static embedder tier's map from ../shared/data and write the shipped asset.

    python scripts/build_static_map.py [DATA_DIR]

Writes src/routellm_plugins/assets/embedder/minilm-static-map.safetensors (recipe:
routellm_plugins.training.static_embedder) and prints the chosen settings and validation cosine.
"""

import json
import sys

from routellm_plugins.training.static_embedder import train_static_map

if __name__ == "__main__":
    report = train_static_map(sys.argv[1] if len(sys.argv) > 1 else "../shared/data", progress=True)
    print(json.dumps(report, indent=1))
