-- Huawei Cloud's VPC API over the Neutron records: a VPC is a router (same
-- id) with the CIDR Neutron has no place for; a VPC subnet is a network
-- (same id) with its one IPv4 subnet, in one VPC and one availability zone.

CREATE TABLE vpcs (
    router_id  TEXT PRIMARY KEY,
    cidr       TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE vpc_subnets (
    network_id        TEXT PRIMARY KEY,
    vpc_id            TEXT NOT NULL,
    availability_zone TEXT NOT NULL DEFAULT '',
    updated_at        BIGINT NOT NULL
);
CREATE INDEX vpc_subnets_by_vpc ON vpc_subnets (vpc_id);
