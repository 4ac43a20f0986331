"""MQTT 3.1.1/5.0 packets, sans-io: frozen records, bytes in and out, reason codes.

Shared by the embedded broker's MQTT gateway and the MQTT connector, so neither imports the other.
"""
