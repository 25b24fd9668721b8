"""Recipes: the schema of every section, the kind registry and the shared value checks."""
