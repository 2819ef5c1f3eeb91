"""Domain services called by handlers and actors: security, ledger, mail, rate limits, …"""
