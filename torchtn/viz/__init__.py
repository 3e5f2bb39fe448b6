"""Drawing and summaries of tensor networks.

Low-level on purpose: these modules know nothing of torchtn's nodes and networks. They
draw a networkx graph with the attributes ``TensorNetwork.to_networkx()`` writes
(:mod:`torchtn.viz.draw`) or a contraction plan's tree (:mod:`torchtn.viz.plan`), lay
graphs out (:mod:`torchtn.viz.layout`) and render summary tables
(:mod:`torchtn.viz.summary`). matplotlib and networkx are imported only inside the
functions that need them (``pip install 'torchtn[draw]'``).
"""

from torchtn.viz.draw import ROLE_COLORS, draw_graph
from torchtn.viz.layout import LAYOUTS, chain_positions, grid_positions, layout_graph
from torchtn.viz.plan import draw_contraction_tree
from torchtn.viz.summary import SummaryTable, format_bytes

__all__ = [
    "LAYOUTS",
    "ROLE_COLORS",
    "SummaryTable",
    "chain_positions",
    "draw_contraction_tree",
    "draw_graph",
    "format_bytes",
    "grid_positions",
    "layout_graph",
]
