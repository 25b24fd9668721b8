"""The dataset card and what it shows: licence, statistics, figures, environment, inspect page."""
