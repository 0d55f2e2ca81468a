"""Geography: regions, dapil, sites and TPS; imports and seeding."""
