"""Flow tables as values: what a pipeline of compiled flows does to a packet, and reading OVS's.

Modules: simulate (an OpenFlow 1.3 pipeline simulator), explain (`explain SRC DST` built on
it), ofctl_text (the `ovs-ofctl dump-flows` parser). Pure: no os-ken, Mininet, sqlite3 or store.
"""
