// Placeholder until the entry point proxy lands.
