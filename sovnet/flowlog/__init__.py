"""The flow log: per-subscriber flow records collected from the switches into the store.

    netflow.py     NetFlow v5 export packets -> ExportedFlow values (pure)
    history.py     which policies were in force while a flow ran; flows -> records (pure)
    collector.py   `python -m sovnet.flowlog.collector`: the UDP collector process
    process.py     starting and stopping that process (the Lab does)
    export.py      the run folder's flows.jsonl

Which flows are kept, and as whose, is decided by `log` policies (sovnet.compile.flowlog);
the records are in the store (sovnet.store.flowrecords), read with `sovnet store DB flowlog`.
"""
