def add_spreads(*a, **k): raise NotImplementedError
def align_cross_section(*a, **k): raise NotImplementedError
def consensus_mean(*a, **k): raise NotImplementedError
