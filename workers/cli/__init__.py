"""The `pullpolicy` command: `main.py` holds the parser and the dispatch, each other module one
verb (or a helper named for what it helps with). The top floor: it may import any room."""
