"""`toolkit schema`: the JSON Schema of recipes, generated from the config dataclasses (toolkit/config/schema.py).

  toolkit schema > recipe.schema.json
  # then, as the first line of a recipe, for completion and checking in editors with the YAML extension:
  # yaml-language-server: $schema=recipe.schema.json

The schema states keys, types, defaults and kinds; value ranges and cross-field rules are checked by
`toolkit make` (one line naming the key, exit 2).
"""

from __future__ import annotations

import json

HELP = "print the JSON Schema of recipes (for editor completion)"
ORDER = 60


def add_arguments(p) -> None:
    pass


def run(args) -> int:
    from toolkit.config.schema import recipe_schema

    print(json.dumps(recipe_schema(), indent=1))
    return 0
