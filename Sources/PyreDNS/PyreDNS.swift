// Placeholder until the DNS server lands.
