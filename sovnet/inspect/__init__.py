"""What an in-path inspector reads from the first bytes of a flow, and what it decides.

Pure: parsers of a TLS ClientHello (tls), an HTTP request's Host (http) and a QUIC Initial
(quic), and the rules compiled from the store's sni/host/quic policies with the pure decision
over them (rules). The controller's inspector (sovnet.controller.inspector) is the edge.
"""
