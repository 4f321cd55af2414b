//! Projects, users, roles and role assignments.

use ecs_types::{Project, Role, RoleAssignment, User};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Store, StoreResult, time};

const PROJECT_COLUMNS: &str = "id, name, domain_id, description, enabled";
const USER_COLUMNS: &str = "id, name, domain_id, password_hash, default_project_id, enabled";

fn project_from_row(row: &AnyRow) -> StoreResult<Project> {
    Ok(Project {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        domain_id: row.try_get("domain_id")?,
        description: row.try_get("description")?,
        enabled: crate::flag(row, "enabled")?,
    })
}

fn user_from_row(row: &AnyRow) -> StoreResult<User> {
    Ok(User {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        domain_id: row.try_get("domain_id")?,
        password_hash: row.try_get("password_hash")?,
        default_project_id: row.try_get("default_project_id")?,
        enabled: crate::flag(row, "enabled")?,
    })
}

const ROLE_COLUMNS: &str = "id, name, description";

fn role_from_row(row: &AnyRow) -> StoreResult<Role> {
    Ok(Role { id: row.try_get("id")?, name: row.try_get("name")?, description: row.try_get("description")? })
}

impl Store {
    pub async fn project_create(&self, p: &Project) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO projects (id, name, domain_id, description, enabled, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&p.id)
        .bind(&p.name)
        .bind(&p.domain_id)
        .bind(&p.description)
        .bind(p.enabled)
        .bind(time::to_db(ecs_types::clock::now()))
        .execute(&self.write)
        .await?;
        Ok(())
    }

    pub async fn project_get(&self, id: &str) -> StoreResult<Project> {
        let sql = format!("SELECT {PROJECT_COLUMNS} FROM projects WHERE id = $1");
        project_from_row(&sqlx::query(&sql).bind(id).fetch_one(&self.read).await?)
    }

    pub async fn project_get_by_name(&self, domain_id: &str, name: &str) -> StoreResult<Project> {
        let sql = format!("SELECT {PROJECT_COLUMNS} FROM projects WHERE domain_id = $1 AND name = $2");
        project_from_row(&sqlx::query(&sql).bind(domain_id).bind(name).fetch_one(&self.read).await?)
    }

    pub async fn project_list(&self) -> StoreResult<Vec<Project>> {
        let sql = format!("SELECT {PROJECT_COLUMNS} FROM projects ORDER BY name");
        sqlx::query(&sql).fetch_all(&self.read).await?.iter().map(project_from_row).collect()
    }

    /// Projects on which `user_id` holds at least one role.
    pub async fn project_list_for_user(&self, user_id: &str) -> StoreResult<Vec<Project>> {
        let sql = format!(
            "SELECT {PROJECT_COLUMNS} FROM projects WHERE id IN \
             (SELECT project_id FROM role_assignments WHERE user_id = $1) ORDER BY name"
        );
        sqlx::query(&sql).bind(user_id).fetch_all(&self.read).await?.iter().map(project_from_row).collect()
    }

    pub async fn project_delete(&self, id: &str) -> StoreResult<()> {
        let done = sqlx::query("DELETE FROM projects WHERE id = $1").bind(id).execute(&self.write).await?;
        if done.rows_affected() == 0 {
            return Err(crate::StoreError::NotFound);
        }
        Ok(())
    }

    pub async fn user_create(&self, u: &User) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO users (id, name, domain_id, password_hash, default_project_id, enabled, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&u.id)
        .bind(&u.name)
        .bind(&u.domain_id)
        .bind(&u.password_hash)
        .bind(&u.default_project_id)
        .bind(u.enabled)
        .bind(time::to_db(ecs_types::clock::now()))
        .execute(&self.write)
        .await?;
        Ok(())
    }

    pub async fn user_get(&self, id: &str) -> StoreResult<User> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        user_from_row(&sqlx::query(&sql).bind(id).fetch_one(&self.read).await?)
    }

    pub async fn user_get_by_name(&self, domain_id: &str, name: &str) -> StoreResult<User> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE domain_id = $1 AND name = $2");
        user_from_row(&sqlx::query(&sql).bind(domain_id).bind(name).fetch_one(&self.read).await?)
    }

    pub async fn user_list(&self) -> StoreResult<Vec<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users ORDER BY name");
        sqlx::query(&sql).fetch_all(&self.read).await?.iter().map(user_from_row).collect()
    }

    pub async fn user_set_password_hash(&self, id: &str, hash: &str) -> StoreResult<()> {
        let done = sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(hash)
            .bind(id)
            .execute(&self.write)
            .await?;
        if done.rows_affected() == 0 {
            return Err(crate::StoreError::NotFound);
        }
        Ok(())
    }

    pub async fn user_delete(&self, id: &str) -> StoreResult<()> {
        let done = sqlx::query("DELETE FROM users WHERE id = $1").bind(id).execute(&self.write).await?;
        if done.rows_affected() == 0 {
            return Err(crate::StoreError::NotFound);
        }
        Ok(())
    }

    /// Creates a role; a name already taken is a `Conflict`.
    pub async fn role_create(&self, r: &Role) -> StoreResult<()> {
        sqlx::query("INSERT INTO roles (id, name, description) VALUES ($1, $2, $3)")
            .bind(&r.id)
            .bind(&r.name)
            .bind(&r.description)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    pub async fn role_get(&self, id: &str) -> StoreResult<Role> {
        let sql = format!("SELECT {ROLE_COLUMNS} FROM roles WHERE id = $1");
        role_from_row(&sqlx::query(&sql).bind(id).fetch_one(&self.read).await?)
    }

    pub async fn role_get_by_name(&self, name: &str) -> StoreResult<Role> {
        let sql = format!("SELECT {ROLE_COLUMNS} FROM roles WHERE name = $1");
        role_from_row(&sqlx::query(&sql).bind(name).fetch_one(&self.read).await?)
    }

    pub async fn role_list(&self) -> StoreResult<Vec<Role>> {
        let sql = format!("SELECT {ROLE_COLUMNS} FROM roles ORDER BY name");
        sqlx::query(&sql).fetch_all(&self.read).await?.iter().map(role_from_row).collect()
    }

    /// Renames a role or changes its description; a name already taken is
    /// a `Conflict`.
    pub async fn role_update(&self, r: &Role) -> StoreResult<()> {
        let done = sqlx::query("UPDATE roles SET name = $1, description = $2 WHERE id = $3")
            .bind(&r.name)
            .bind(&r.description)
            .bind(&r.id)
            .execute(&self.write)
            .await?;
        if done.rows_affected() == 0 {
            return Err(crate::StoreError::NotFound);
        }
        Ok(())
    }

    /// Deletes a role and, with it, every assignment of it.
    pub async fn role_delete(&self, id: &str) -> StoreResult<()> {
        let mut tx = self.write.begin().await?;
        sqlx::query("DELETE FROM role_assignments WHERE role_id = $1").bind(id).execute(&mut *tx).await?;
        let done = sqlx::query("DELETE FROM roles WHERE id = $1").bind(id).execute(&mut *tx).await?;
        if done.rows_affected() == 0 {
            return Err(crate::StoreError::NotFound);
        }
        tx.commit().await?;
        Ok(())
    }

    /// Grants a role; granting one already held is not an error.
    pub async fn role_assignment_add(&self, a: &RoleAssignment) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO role_assignments (user_id, project_id, role_id) VALUES ($1, $2, $3) \
             ON CONFLICT DO NOTHING",
        )
        .bind(&a.user_id)
        .bind(&a.project_id)
        .bind(&a.role_id)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    pub async fn role_assignment_remove(&self, a: &RoleAssignment) -> StoreResult<()> {
        let done = sqlx::query("DELETE FROM role_assignments WHERE user_id = $1 AND project_id = $2 AND role_id = $3")
            .bind(&a.user_id)
            .bind(&a.project_id)
            .bind(&a.role_id)
            .execute(&self.write)
            .await?;
        if done.rows_affected() == 0 {
            return Err(crate::StoreError::NotFound);
        }
        Ok(())
    }

    /// Assignments, optionally narrowed to one user and/or one project.
    pub async fn role_assignment_list(
        &self,
        user_id: Option<&str>,
        project_id: Option<&str>,
    ) -> StoreResult<Vec<RoleAssignment>> {
        let rows = sqlx::query(
            "SELECT user_id, project_id, role_id FROM role_assignments \
             WHERE ($1 IS NULL OR user_id = $1) AND ($2 IS NULL OR project_id = $2) \
             ORDER BY user_id, project_id, role_id",
        )
        .bind(user_id)
        .bind(project_id)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(RoleAssignment {
                    user_id: row.try_get("user_id")?,
                    project_id: row.try_get("project_id")?,
                    role_id: row.try_get("role_id")?,
                })
            })
            .collect()
    }

    /// The roles `user_id` holds on `project_id`.
    pub async fn roles_for(&self, user_id: &str, project_id: &str) -> StoreResult<Vec<Role>> {
        sqlx::query(
            "SELECT r.id, r.name, r.description FROM roles r JOIN role_assignments a ON a.role_id = r.id \
             WHERE a.user_id = $1 AND a.project_id = $2 ORDER BY r.name",
        )
        .bind(user_id)
        .bind(project_id)
        .fetch_all(&self.read)
        .await?
        .iter()
        .map(role_from_row)
        .collect()
    }
}
