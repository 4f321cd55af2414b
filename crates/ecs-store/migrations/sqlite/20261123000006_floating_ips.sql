-- External networks are floating-IP pools; a floating IP is an address
-- of one, allocated to a project and optionally bound to a port.
ALTER TABLE networks ADD COLUMN external INTEGER NOT NULL DEFAULT FALSE;

CREATE TABLE floating_ips (
    id         TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    network_id TEXT NOT NULL REFERENCES networks (id),
    address    TEXT NOT NULL,
    port_id    TEXT REFERENCES ports (id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (network_id, address)
);
CREATE INDEX floating_ips_by_project ON floating_ips (project_id);
CREATE INDEX floating_ips_by_port ON floating_ips (port_id);
