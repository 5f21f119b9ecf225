"""A policy API for remote operators: the store's policy commands over HTTPS, by role.

    sovnet api --store DB [--host H] [--port N] [--tokens FILE] [--certfile F --keyfile F]
    sovnet api token add|list|revoke --tokens FILE ...

    roles.py    who may do what: regulator, isp:NAME, auditor (pure, on the topology)
    tokens.py   the tokens file: bearer tokens kept as SHA-256 digests, written atomically
    auth.py     the bearer token of a request -> an Identity, within its rate limit
    limits.py   per-token token buckets and the request body's size limit
    errors.py   every refusal as JSON {"error": ...}; no traceback reaches a client
    models.py   request bodies (their JSON Schema is in /openapi.json)
    reads.py    what a role may read of the store, as the CLI's commands read it
    writes.py   what a role may change, as the CLI's commands do (Operations: reads and writes)
    app.py      the FastAPI application: resources under /v1
    serve.py    uvicorn in the foreground, or in a thread (`start_in_thread`) for a lab

Every write is one store revision whose author is the token's ("api:NAME").
"""
