"""The model: making a LangChain chat model from a spec and calling it.

``make_chat_model`` and the specs it remembers, the call with its JSON schema and deadline,
the output forms a server accepts, the offline SmolLM2 model on llama.cpp, the ``random``
stand-in (not a model), and carrying a model across pickling. Imports only the records room
and :mod:`optuna_llm_sampler._errors`.
"""
