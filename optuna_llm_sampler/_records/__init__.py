"""The records: what the sampler writes to the study's storage and what it keeps out of it.

Trial attribute names and their batched reads and writes, optuna-dashboard notes, the
prompt and reply kept as artifacts, proposals left waiting in the queue, key redaction, the
SQLite storage several processes share, and text cut to a length. The lowest room: it imports
only :mod:`optuna_llm_sampler._errors`, never another room.
"""
