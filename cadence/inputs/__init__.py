"""What users give cadence, read whole and refused with line numbers: cadence.toml, the policy
folder, closures, the customer file and contact history.
Imports values (and the connector registry)."""
