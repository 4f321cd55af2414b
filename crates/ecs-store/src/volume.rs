//! Volumes, attachments and snapshots. Reserving an attachment and the
//! task that carries it out are one transaction, as for servers.

use ecs_types::volume::{Volume, VolumeAttachment, VolumeSnapshot};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::task::{NewTask, insert_task};
use crate::{Backend, Store, StoreError, StoreResult, time};

pub(crate) const COLUMNS: &str = "v.id, v.project_id, v.name, v.description, v.size_gb, v.status, v.volume_type, \
    v.availability_zone, v.snapshot_id, v.created_at, v.metadata, v.bootable, v.source_volid, v.image_id, v.user_id, \
    a.id AS attachment_id, a.server_id, a.device, a.delete_on_termination, a.attach_mode, a.connector";
pub(crate) const FROM: &str = "volumes v LEFT JOIN volume_attachments a ON a.volume_id = v.id";

pub(crate) fn volume_from_row(row: &AnyRow) -> StoreResult<Volume> {
    let id: String = row.try_get("id")?;
    let attachment_id: Option<String> = row.try_get("attachment_id")?;
    let attachment = match attachment_id {
        Some(att) => Some(VolumeAttachment {
            id: att,
            volume_id: id.clone(),
            server_id: row.try_get("server_id")?,
            device: row.try_get("device")?,
            delete_on_termination: crate::flag(row, "delete_on_termination")?,
            attach_mode: row.try_get("attach_mode")?,
            connector: row.try_get("connector")?,
        }),
        None => None,
    };
    Ok(Volume {
        id,
        project_id: row.try_get("project_id")?,
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        size_gb: row.try_get("size_gb")?,
        status: row.try_get("status")?,
        volume_type: row.try_get("volume_type")?,
        availability_zone: row.try_get("availability_zone")?,
        snapshot_id: row.try_get("snapshot_id")?,
        created_at: time::from_db(row.try_get("created_at")?)?,
        attachment,
        metadata: metadata_from(row)?,
        bootable: row.try_get::<i64, _>("bootable")? != 0,
        source_volid: row.try_get("source_volid")?,
        user_id: row.try_get("user_id")?,
        image_id: row.try_get("image_id")?,
    })
}

pub(crate) fn snapshot_from_row(row: &AnyRow) -> StoreResult<VolumeSnapshot> {
    Ok(VolumeSnapshot {
        id: row.try_get("id")?,
        project_id: row.try_get("project_id")?,
        volume_id: row.try_get("volume_id")?,
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        size_gb: row.try_get("size_gb")?,
        status: row.try_get("status")?,
        created_at: time::from_db(row.try_get("created_at")?)?,
        metadata: metadata_from(row)?,
    })
}

/// A `metadata` column (a JSON object of strings).
pub(crate) fn metadata_from(row: &AnyRow) -> StoreResult<std::collections::BTreeMap<String, String>> {
    let raw: String = row.try_get("metadata")?;
    Ok(serde_json::from_str(&raw).unwrap_or_default())
}

pub(crate) fn metadata_json(m: &std::collections::BTreeMap<String, String>) -> String {
    serde_json::to_string(m).unwrap_or_else(|_| "{}".into())
}

/// Why a volume change was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VolumeRefusal {
    /// Over the `volumes` or `gigabytes` quota: (resource, limit, used, asked).
    Quota(&'static str, i64, i64, i64),
    /// Not in a state that allows it (the state it is in).
    State(String),
    /// Snapshots depend on it.
    HasSnapshots(i64),
    /// The device name is taken on the server.
    DeviceInUse(String),
    /// Attached to a server (Cinder refuses even a forced delete).
    Attached,
}

/// An attachment to record.
struct Attach<'a> {
    volume_id: &'a str,
    server_id: &'a str,
    device: Option<&'a str>,
    delete_on_termination: bool,
    /// `attaching` (a task plugs it) or `in-use` (a build plugs it);
    /// `reserved` or `attaching` for a Cinder attachment.
    status: &'static str,
    mode: &'a str,
    connector: Option<&'a str>,
}

/// The device a server's next volume gets: `/dev/vdb` onwards.
fn next_device(taken: &[String]) -> String {
    (b'b'..=b'z')
        .map(|c| format!("/dev/vd{}", c as char))
        .find(|d| !taken.contains(d))
        .unwrap_or_else(|| "/dev/vdzz".into())
}

/// The limits a new volume must fit in (-1: none).
#[derive(Debug, Clone, Copy)]
pub struct VolumeLimits {
    pub volumes: i64,
    pub gigabytes: i64,
    /// `volumes_{type}` and `gigabytes_{type}` of the volume's type.
    pub type_volumes: i64,
    pub type_gigabytes: i64,
    /// `per_volume_gigabytes`.
    pub per_volume_gigabytes: i64,
}

impl Store {
    /// Creates an available volume within the project's limits (-1: none).
    pub async fn volume_create(
        &self,
        v: &Volume,
        max_volumes: i64,
        max_gb: i64,
    ) -> StoreResult<Result<Volume, VolumeRefusal>> {
        let limits = VolumeLimits {
            volumes: max_volumes,
            gigabytes: max_gb,
            type_volumes: -1,
            type_gigabytes: -1,
            per_volume_gigabytes: -1,
        };
        self.volume_create_within(v, &limits).await
    }

    /// Creates a volume within `limits`, counted in the same transaction
    /// (the project's row locked on PostgreSQL; SQLite has one writer), so
    /// that parallel creates never pass a quota together.
    pub async fn volume_create_within(
        &self,
        v: &Volume,
        limits: &VolumeLimits,
    ) -> StoreResult<Result<Volume, VolumeRefusal>> {
        let (max_volumes, max_gb) = (limits.volumes, limits.gigabytes);
        if limits.per_volume_gigabytes >= 0 && v.size_gb > limits.per_volume_gigabytes {
            return Ok(Err(VolumeRefusal::Quota("per_volume_gigabytes", limits.per_volume_gigabytes, 0, v.size_gb)));
        }
        let mut tx = self.write.begin().await?;
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT id FROM projects WHERE id = $1 FOR UPDATE")
                .bind(&v.project_id)
                .fetch_optional(&mut *tx)
                .await?;
        }
        let row = sqlx::query(
            "SELECT COUNT(*) AS n, CAST(COALESCE(SUM(size_gb), 0) AS BIGINT) AS gb FROM volumes WHERE project_id = $1",
        )
        .bind(&v.project_id)
        .fetch_one(&mut *tx)
        .await?;
        let (n, gb): (i64, i64) = (row.try_get("n")?, row.try_get("gb")?);
        if max_volumes >= 0 && n + 1 > max_volumes {
            return Ok(Err(VolumeRefusal::Quota("volumes", max_volumes, n, 1)));
        }
        if max_gb >= 0 && gb + v.size_gb > max_gb {
            return Ok(Err(VolumeRefusal::Quota("gigabytes", max_gb, gb, v.size_gb)));
        }
        if limits.type_volumes >= 0 || limits.type_gigabytes >= 0 {
            let row = sqlx::query(
                "SELECT COUNT(*) AS n, CAST(COALESCE(SUM(size_gb), 0) AS BIGINT) AS gb FROM volumes \
                 WHERE project_id = $1 AND volume_type = $2",
            )
            .bind(&v.project_id)
            .bind(&v.volume_type)
            .fetch_one(&mut *tx)
            .await?;
            let (n, gb): (i64, i64) = (row.try_get("n")?, row.try_get("gb")?);
            if limits.type_volumes >= 0 && n + 1 > limits.type_volumes {
                return Ok(Err(VolumeRefusal::Quota("volumes_type", limits.type_volumes, n, 1)));
            }
            if limits.type_gigabytes >= 0 && gb + v.size_gb > limits.type_gigabytes {
                return Ok(Err(VolumeRefusal::Quota("gigabytes_type", limits.type_gigabytes, gb, v.size_gb)));
            }
        }
        let now = time::to_db(ecs_types::clock::now());
        sqlx::query(
            "INSERT INTO volumes (id, project_id, name, description, size_gb, status, volume_type, availability_zone, \
             snapshot_id, created_at, updated_at, metadata, bootable, source_volid, image_id, user_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11, $12, $13, $14, $15)",
        )
        .bind(&v.id)
        .bind(&v.project_id)
        .bind(&v.name)
        .bind(&v.description)
        .bind(v.size_gb)
        .bind(&v.status)
        .bind(&v.volume_type)
        .bind(&v.availability_zone)
        .bind(&v.snapshot_id)
        .bind(now)
        .bind(metadata_json(&v.metadata))
        .bind(i64::from(v.bootable))
        .bind(&v.source_volid)
        .bind(&v.image_id)
        .bind(&v.user_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Ok(self.volume_get(&v.id).await?))
    }

    pub async fn volume_get(&self, id: &str) -> StoreResult<Volume> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM {FROM} WHERE v.id = $1"))
            .bind(id)
            .fetch_one(&self.read)
            .await?;
        volume_from_row(&row)
    }

    /// A project's volumes (every volume when None), newest first.
    pub async fn volume_list(&self, project_id: Option<&str>) -> StoreResult<Vec<Volume>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM {FROM} WHERE ($1 IS NULL OR v.project_id = $1) ORDER BY v.created_at DESC, v.id"
        ))
        .bind(project_id)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(volume_from_row).collect()
    }

    /// The volumes attached to a server.
    pub async fn volumes_of_server(&self, server_id: &str) -> StoreResult<Vec<Volume>> {
        let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM {FROM} WHERE a.server_id = $1 ORDER BY a.device"))
            .bind(server_id)
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(volume_from_row).collect()
    }

    /// Deletes an available (or failed) volume that has no snapshots.
    pub async fn volume_delete(&self, id: &str) -> StoreResult<Result<(), VolumeRefusal>> {
        let mut tx = self.write.begin().await?;
        let snaps: i64 = sqlx::query("SELECT COUNT(*) AS n FROM volume_snapshots WHERE volume_id = $1")
            .bind(id)
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
        if snaps > 0 {
            return Ok(Err(VolumeRefusal::HasSnapshots(snaps)));
        }
        let done = sqlx::query("DELETE FROM volumes WHERE id = $1 AND status IN ('available', 'error')")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            drop(tx);
            let v = self.volume_get(id).await?;
            return Ok(Err(VolumeRefusal::State(v.status)));
        }
        tx.commit().await?;
        Ok(Ok(()))
    }

    /// Reserves an available volume for a server (status `attaching`, the
    /// attachment recorded, `device` or the next free one) and queues the
    /// task that attaches it, in one transaction.
    pub async fn volume_attach_reserve(
        &self,
        volume_id: &str,
        server_id: &str,
        device: Option<&str>,
        delete_on_termination: bool,
        task: &NewTask,
    ) -> StoreResult<Result<VolumeAttachment, VolumeRefusal>> {
        let attach = Attach {
            volume_id,
            server_id,
            device,
            delete_on_termination,
            status: "attaching",
            mode: "rw",
            connector: None,
        };
        self.attach(attach, Some(task)).await
    }

    /// Attaches a volume to a server being built (no task of its own: the
    /// build's). Idempotent: an attachment to this server is kept.
    pub async fn volume_attach_for_build(
        &self,
        volume_id: &str,
        server_id: &str,
        device: Option<&str>,
        delete_on_termination: bool,
    ) -> StoreResult<Result<VolumeAttachment, VolumeRefusal>> {
        if let Some(a) = self.volume_get(volume_id).await?.attachment {
            return Ok(if a.server_id == server_id { Ok(a) } else { Err(VolumeRefusal::State("in-use".into())) });
        }
        let attach = Attach {
            volume_id,
            server_id,
            device,
            delete_on_termination,
            status: "in-use",
            mode: "rw",
            connector: None,
        };
        self.attach(attach, None).await
    }

    /// Records a Cinder attachment of an available volume to a server:
    /// `reserved` without a connector, `attaching` with one.
    pub async fn volume_attach_cinder(
        &self,
        volume_id: &str,
        server_id: &str,
        mode: &str,
        connector: Option<&str>,
    ) -> StoreResult<Result<VolumeAttachment, VolumeRefusal>> {
        let status = if connector.is_some() { "attaching" } else { "reserved" };
        let attach =
            Attach { volume_id, server_id, device: None, delete_on_termination: false, status, mode, connector };
        self.attach(attach, None).await
    }

    /// Moves an available volume to `a.status` and records its attachment
    /// (and the task, if any) in one transaction.
    async fn attach(
        &self,
        a: Attach<'_>,
        task: Option<&NewTask>,
    ) -> StoreResult<Result<VolumeAttachment, VolumeRefusal>> {
        let mut tx = self.write.begin().await?;
        let now = time::to_db(ecs_types::clock::now());
        let done =
            sqlx::query("UPDATE volumes SET status = $1, updated_at = $2 WHERE id = $3 AND status = 'available'")
                .bind(a.status)
                .bind(now)
                .bind(a.volume_id)
                .execute(&mut *tx)
                .await?;
        if done.rows_affected() == 0 {
            drop(tx);
            return Ok(Err(VolumeRefusal::State(self.volume_get(a.volume_id).await?.status)));
        }
        let taken: Vec<String> = sqlx::query("SELECT device FROM volume_attachments WHERE server_id = $1")
            .bind(a.server_id)
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|r| r.try_get("device"))
            .collect::<Result<_, _>>()?;
        let device = match a.device {
            Some(d) if taken.iter().any(|t| t == d) => return Ok(Err(VolumeRefusal::DeviceInUse(d.to_string()))),
            Some(d) => d.to_string(),
            None => next_device(&taken),
        };
        let attachment = VolumeAttachment {
            id: ecs_types::random::uuid().to_string(),
            volume_id: a.volume_id.to_string(),
            server_id: a.server_id.to_string(),
            device,
            delete_on_termination: a.delete_on_termination,
            attach_mode: a.mode.to_string(),
            connector: a.connector.map(str::to_string),
        };
        sqlx::query(
            "INSERT INTO volume_attachments (volume_id, id, server_id, device, delete_on_termination, created_at, \
             attach_mode, connector) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&attachment.volume_id)
        .bind(&attachment.id)
        .bind(&attachment.server_id)
        .bind(&attachment.device)
        .bind(attachment.delete_on_termination)
        .bind(now)
        .bind(&attachment.attach_mode)
        .bind(&attachment.connector)
        .execute(&mut *tx)
        .await?;
        if let Some(task) = task {
            insert_task(&mut tx, task).await?;
        }
        tx.commit().await?;
        Ok(Ok(attachment))
    }

    /// Starts a swap: the new volume (available) becomes `attaching`, with
    /// the task that moves the attachment to it.
    pub async fn volume_swap_begin(
        &self,
        new_volume_id: &str,
        task: &NewTask,
    ) -> StoreResult<Result<(), VolumeRefusal>> {
        let mut tx = self.write.begin().await?;
        let done = sqlx::query(
            "UPDATE volumes SET status = 'attaching', updated_at = $1 WHERE id = $2 AND status = 'available'",
        )
        .bind(time::to_db(ecs_types::clock::now()))
        .bind(new_volume_id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            drop(tx);
            return Ok(Err(VolumeRefusal::State(self.volume_get(new_volume_id).await?.status)));
        }
        insert_task(&mut tx, task).await?;
        tx.commit().await?;
        Ok(Ok(()))
    }

    /// Moves an attachment from `old` to `new` (same device): `new` is in
    /// use, `old` available. Idempotent.
    pub async fn volume_swap_finish(&self, old: &str, new: &str) -> StoreResult<()> {
        let mut tx = self.write.begin().await?;
        let now = time::to_db(ecs_types::clock::now());
        sqlx::query("UPDATE volume_attachments SET volume_id = $1 WHERE volume_id = $2")
            .bind(new)
            .bind(old)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE volumes SET status = 'in-use', updated_at = $1 WHERE id = $2")
            .bind(now)
            .bind(new)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE volumes SET status = 'available', updated_at = $1 WHERE id = $2 AND id NOT IN \
                     (SELECT volume_id FROM volume_attachments)",
        )
        .bind(now)
        .bind(old)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Changes an attachment's delete_on_termination (2.85).
    pub async fn volume_set_delete_on_termination(&self, volume_id: &str, value: bool) -> StoreResult<()> {
        sqlx::query("UPDATE volume_attachments SET delete_on_termination = $1 WHERE volume_id = $2")
            .bind(value)
            .bind(volume_id)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// Starts a detach: `in-use` → `detaching`, with its task.
    pub async fn volume_detach_begin(&self, volume_id: &str, task: &NewTask) -> StoreResult<Result<(), VolumeRefusal>> {
        let mut tx = self.write.begin().await?;
        let done =
            sqlx::query("UPDATE volumes SET status = 'detaching', updated_at = $1 WHERE id = $2 AND status = 'in-use'")
                .bind(time::to_db(ecs_types::clock::now()))
                .bind(volume_id)
                .execute(&mut *tx)
                .await?;
        if done.rows_affected() == 0 {
            drop(tx);
            return Ok(Err(VolumeRefusal::State(self.volume_get(volume_id).await?.status)));
        }
        insert_task(&mut tx, task).await?;
        tx.commit().await?;
        Ok(Ok(()))
    }

    pub async fn volume_set_status(&self, id: &str, status: &str) -> StoreResult<()> {
        sqlx::query("UPDATE volumes SET status = $1, updated_at = $2 WHERE id = $3")
            .bind(status)
            .bind(time::to_db(ecs_types::clock::now()))
            .bind(id)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// Ends an attachment: the volume is available again. Idempotent.
    pub async fn volume_release(&self, volume_id: &str) -> StoreResult<()> {
        let mut tx = self.write.begin().await?;
        sqlx::query("DELETE FROM volume_attachments WHERE volume_id = $1").bind(volume_id).execute(&mut *tx).await?;
        sqlx::query("UPDATE volumes SET status = 'available', updated_at = $1 WHERE id = $2")
            .bind(time::to_db(ecs_types::clock::now()))
            .bind(volume_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Removes a volume outright (a server's delete_on_termination volume). Idempotent.
    pub async fn volume_purge(&self, volume_id: &str) -> StoreResult<()> {
        let mut tx = self.write.begin().await?;
        sqlx::query("DELETE FROM volume_attachments WHERE volume_id = $1").bind(volume_id).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM volume_snapshots WHERE volume_id = $1").bind(volume_id).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM volumes WHERE id = $1").bind(volume_id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn snapshot_create(
        &self,
        s: &VolumeSnapshot,
        max: i64,
    ) -> StoreResult<Result<VolumeSnapshot, VolumeRefusal>> {
        let mut tx = self.write.begin().await?;
        let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM volume_snapshots WHERE project_id = $1")
            .bind(&s.project_id)
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
        if max >= 0 && n + 1 > max {
            return Ok(Err(VolumeRefusal::Quota("snapshots", max, n, 1)));
        }
        sqlx::query(
            "INSERT INTO volume_snapshots (id, project_id, volume_id, name, description, size_gb, status, created_at, \
             metadata) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&s.id)
        .bind(&s.project_id)
        .bind(&s.volume_id)
        .bind(&s.name)
        .bind(&s.description)
        .bind(s.size_gb)
        .bind(&s.status)
        .bind(time::to_db(s.created_at))
        .bind(metadata_json(&s.metadata))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Ok(s.clone()))
    }

    pub async fn snapshot_get(&self, id: &str) -> StoreResult<VolumeSnapshot> {
        let row = sqlx::query("SELECT * FROM volume_snapshots WHERE id = $1").bind(id).fetch_one(&self.read).await?;
        snapshot_from_row(&row)
    }

    pub async fn snapshot_list(&self, project_id: Option<&str>) -> StoreResult<Vec<VolumeSnapshot>> {
        let rows = sqlx::query(
            "SELECT * FROM volume_snapshots WHERE ($1 IS NULL OR project_id = $1) ORDER BY created_at DESC, id",
        )
        .bind(project_id)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(snapshot_from_row).collect()
    }

    pub async fn snapshot_delete(&self, id: &str) -> StoreResult<()> {
        let done = sqlx::query("DELETE FROM volume_snapshots WHERE id = $1").bind(id).execute(&self.write).await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }
}
