// API Gateway event <-> Beast message adapter (being written).
