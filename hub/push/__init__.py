"""Electronic certificates and case records, derived from the shared tables and pushed to the province.

- :mod:`hub.push.identifier`: GB/T 36904 certificate identifiers (ISO/IEC 7064 MOD 37,36 check).
- :mod:`hub.push.gm`: SM3, HMAC-SM3 and the canonical JSON that is signed.
- :mod:`hub.push.signer`: the certificate signer interface (SM2 by default).
- :mod:`hub.push.certificates` / :mod:`hub.push.cases`: derive versions and their outbox rows.
- :mod:`hub.push.outbox`: claim, send and record results (exactly-once delivery).
- :mod:`hub.push.reconcile`: the daily 对账 against the platform.
"""
