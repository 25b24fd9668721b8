"""Publishing a finished build: stage exactly the dataset's files, then copy them to the Hub
(`hub.py`) or to any fsspec URL (`remote.py`). Both go through `stage.py`, so what is published, how
it is checked and the manifest that proves a copy whole are the same whatever the target."""
