"""Simulator of the provincial platform's receiving interface (省级一体化政务服务平台 · 电子证照库).

A real FastAPI server (:mod:`simulators.province.server`) that follows the published interface
exactly, keeps what it accepted in its own PostgreSQL database (:mod:`simulators.province.store`)
and injects the faults a client must survive on demand (:mod:`simulators.province.faults`).
"""
