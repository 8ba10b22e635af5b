-- Customer segments: attributes the partner owns about its customers (service model, industry, contract tier,
-- a seat band of its own, free tags), one value per customer and key, with who set it and when. Written by
-- `smart-office segments` (tag, untag, import); read by dbt (stg_ops__customer_attributes → dim_customers,
-- dim_customer_segments). No foreign key to ops.customers: a partner may tag a customer before discovery
-- first lists it.
create table ops.customer_attributes (
    tenant_id uuid not null,
    attribute_key text not null,
    attribute_value text not null,
    set_by text not null,
    set_at timestamptz not null default now(),
    primary key (tenant_id, attribute_key),
    -- The rules smart_office.segments.attributes checks first, kept here too so that no other writer can
    -- store what the CLI would refuse.
    constraint customer_attributes_key_format check (attribute_key ~ '^[a-z][a-z0-9_]{0,39}$'),
    constraint customer_attributes_value_format check (
        length(attribute_value) between 1 and 100
        and attribute_value = btrim(attribute_value)
        and attribute_value !~ '[[:cntrl:]]'
    ),
    constraint customer_attributes_set_by_format check (length(set_by) between 1 and 200)
);

create index customer_attributes_by_segment on ops.customer_attributes (attribute_key, attribute_value);
