-- A floating IP as a Huawei EIP: alias, line type and its dedicated
-- bandwidth (NULL: the EIP API's defaults).
ALTER TABLE floating_ips ADD COLUMN alias TEXT;
ALTER TABLE floating_ips ADD COLUMN ip_type TEXT;
ALTER TABLE floating_ips ADD COLUMN bandwidth_name TEXT;
ALTER TABLE floating_ips ADD COLUMN bandwidth_size BIGINT;
ALTER TABLE floating_ips ADD COLUMN bandwidth_charge_mode TEXT;
