"""The partner's own list of tenants (ops.tenants): direct tenants with their credential, the pilot, exclusions."""
