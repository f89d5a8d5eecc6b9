"""人社局 social-insurance REST API simulator: data (insured.py), server, faults and provisioning."""
