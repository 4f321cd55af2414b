-- Quota classes (Nova's os-quota-class-sets): limits by class name. The
-- `default` class overrides the configured defaults for every project
-- without limits of its own.
CREATE TABLE quota_classes (
    class_name TEXT NOT NULL,
    resource   TEXT NOT NULL,
    hard_limit BIGINT NOT NULL,
    PRIMARY KEY (class_name, resource)
);
