"""政务服务中心 case system simulator (``T_BJ_GCXX``)."""
