"""Names of the fields of a batch, declared once. Shapes for a batch of B graphs, N nodes, E edges."""

POS = "pos"  # [N, D] input positions
VEL = "vel"  # [N, D] input velocities
CHARGES = "charges"  # [N, 1] particle charges
TARGET_POS = "target_pos"  # [N, D] positions to predict
EDGE_INDEX = "edge_index"  # [2, E] int64, row 0 receiver i, row 1 sender j
BATCH = "batch"  # [N] int64 graph index of each node
NUM_GRAPHS = "num_graphs"  # int, B
ATOMIC_NUMBERS = "z"  # [N] int atomic numbers
NODE_ATTR = "node_attr"  # [N, F] input node features
TARGET = "target"  # [B] one scalar property per graph
NUM_NODES = "num_nodes"  # int, N
EDGE_ATTR = "edge_attr"  # [E, A] input edge attributes
EDGE_TARGET = "edge_target"  # [E] float 0/1, the adjacency entry of each ordered pair
EDGE_GRAPH = "edge_graph"  # [E] int64 graph index of each edge
