"""Graph nodes: load_memory -> plan -> execute -> reflect -> respond -> save_memory."""
