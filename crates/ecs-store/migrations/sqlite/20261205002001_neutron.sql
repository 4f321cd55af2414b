-- Neutron's side of the network records: rule direction and ethertype,
-- the attributes only Neutron shows (description, admin state, DHCP,
-- allowed address pairs, a port's owner), ports' security groups, and
-- routers with their interfaces (each one a port on a subnet).
ALTER TABLE security_group_rules ADD COLUMN direction TEXT NOT NULL DEFAULT 'ingress';
ALTER TABLE security_group_rules ADD COLUMN ethertype TEXT NOT NULL DEFAULT 'IPv4';

CREATE TABLE neutron_attributes (
    resource_id           TEXT PRIMARY KEY,
    description           TEXT NOT NULL DEFAULT '',
    admin_state_up        INTEGER NOT NULL DEFAULT TRUE,
    enable_dhcp           INTEGER NOT NULL DEFAULT TRUE,
    allowed_address_pairs TEXT NOT NULL DEFAULT '[]',
    device_owner          TEXT NOT NULL DEFAULT '',
    device_id             TEXT NOT NULL DEFAULT '',
    revision_number       BIGINT NOT NULL DEFAULT 0,
    updated_at            BIGINT
);

CREATE TABLE port_security_groups (
    port_id  TEXT NOT NULL REFERENCES ports (id) ON DELETE CASCADE,
    group_id TEXT NOT NULL REFERENCES security_groups (id),
    PRIMARY KEY (port_id, group_id)
);
CREATE INDEX port_security_groups_by_group ON port_security_groups (group_id);

CREATE TABLE routers (
    id                 TEXT PRIMARY KEY,
    project_id         TEXT NOT NULL,
    name               TEXT NOT NULL DEFAULT '',
    description        TEXT NOT NULL DEFAULT '',
    admin_state_up     INTEGER NOT NULL DEFAULT TRUE,
    gateway_network_id TEXT,
    created_at         BIGINT NOT NULL
);
CREATE INDEX routers_by_project ON routers (project_id);

CREATE TABLE router_interfaces (
    port_id   TEXT PRIMARY KEY REFERENCES ports (id),
    router_id TEXT NOT NULL REFERENCES routers (id),
    subnet_id TEXT NOT NULL
);
CREATE INDEX router_interfaces_by_router ON router_interfaces (router_id);
