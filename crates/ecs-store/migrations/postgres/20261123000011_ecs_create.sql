-- ECS-native create: the `extendparam` of the request (billing mode,
-- enterprise project, ...), kept and shown with the server.
ALTER TABLE servers ADD COLUMN extend_param TEXT NOT NULL DEFAULT '{}';

-- An EIP made or bound by an ECS create goes with its server when the
-- request said so (`publicip.delete_on_termination`).
ALTER TABLE floating_ips ADD COLUMN delete_on_termination BOOLEAN NOT NULL DEFAULT FALSE;

-- X-Client-Token (DECISIONS.md §13): a create or batch request repeated
-- with the same token answers with the job it started the first time.
-- Written in the transaction that inserts the job.
CREATE TABLE client_tokens (
    project_id   TEXT NOT NULL,
    token        TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    task_id      TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (project_id, token)
);
