"""Users, roles and the scope each account works in."""
