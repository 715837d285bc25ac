def add_derived_features(*a, **k): raise NotImplementedError
def list_derived(): return []
def register_derived(*a, **k): raise NotImplementedError
