"""Administrative divisions (GB/T 2260 and 12-digit statistical codes)."""
