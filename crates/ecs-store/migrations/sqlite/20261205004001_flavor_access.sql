-- Nova's flavor access (os-flavor-access): the projects that may see and
-- use a private flavor.
CREATE TABLE flavor_projects (
    flavor_id  TEXT NOT NULL,
    project_id TEXT NOT NULL,
    PRIMARY KEY (flavor_id, project_id)
);
CREATE INDEX flavor_projects_project ON flavor_projects (project_id);
