"""CivicGrid shared kit: what every service needs, and nothing any one service owns."""
