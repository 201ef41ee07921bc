"""A chaos soak of the whole local stack: send, kill parts at random, account for every delivery."""
