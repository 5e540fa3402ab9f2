"""The `.pullpolicy.yml` model and its loading: pure data and validation, no I/O beyond parsing
the text it is given. Imports nothing of pullpolicy's but itself."""
