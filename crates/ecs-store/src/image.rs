//! Glance's view of the image records: hashes, protection, tags, members.

use ecs_types::image::{GlanceImage, ImageData, ImageMember};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Store, StoreError, StoreResult, time};

fn glance_from_row(row: &AnyRow) -> StoreResult<GlanceImage> {
    let image = crate::network::image_from_row(row)?;
    let updated: Option<i64> = row.try_get("updated_at")?;
    let updated_at = match updated {
        Some(t) => time::from_db(t)?,
        None => image.created_at,
    };
    Ok(GlanceImage {
        protected: crate::flag(row, "protected")?,
        os_hidden: crate::flag(row, "os_hidden")?,
        checksum: row.try_get("checksum")?,
        os_hash_algo: row.try_get("os_hash_algo")?,
        os_hash_value: row.try_get("os_hash_value")?,
        virtual_size: row.try_get("virtual_size")?,
        tags: serde_json::from_str(&row.try_get::<String, _>("tags")?)
            .map_err(|e| StoreError::Corrupt(format!("image tags: {e}")))?,
        updated_at,
        image,
    })
}

fn member_from_row(row: &AnyRow) -> StoreResult<ImageMember> {
    Ok(ImageMember {
        image_id: row.try_get("image_id")?,
        member_id: row.try_get("member_id")?,
        status: row.try_get("status")?,
        created_at: time::from_db(row.try_get("created_at")?)?,
        updated_at: time::from_db(row.try_get("updated_at")?)?,
    })
}

impl Store {
    pub async fn glance_image_list(&self) -> StoreResult<Vec<GlanceImage>> {
        sqlx::query("SELECT * FROM images ORDER BY created_at, id")
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(glance_from_row)
            .collect()
    }

    pub async fn glance_image_get(&self, id: &str) -> StoreResult<GlanceImage> {
        let row = sqlx::query("SELECT * FROM images WHERE id = $1").bind(id).fetch_one(&self.read).await?;
        glance_from_row(&row)
    }

    /// Records a new image with its Glance attributes.
    pub async fn glance_image_create(&self, g: &GlanceImage) -> StoreResult<()> {
        let i = &g.image;
        sqlx::query(
            "INSERT INTO images (id, name, status, visibility, owner_project_id, disk_format, \
             container_format, min_ram_mb, min_disk_gb, size_bytes, os_type, properties, created_at, \
             protected, os_hidden, tags, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
        )
        .bind(&i.id)
        .bind(&i.name)
        .bind(&i.status)
        .bind(&i.visibility)
        .bind(&i.owner_project_id)
        .bind(&i.disk_format)
        .bind(&i.container_format)
        .bind(i.min_ram_mb)
        .bind(i.min_disk_gb)
        .bind(i.size_bytes)
        .bind(&i.os_type)
        .bind(serde_json::to_string(&i.properties).expect("properties serialise"))
        .bind(time::to_db(i.created_at))
        .bind(g.protected)
        .bind(g.os_hidden)
        .bind(serde_json::to_string(&g.tags).expect("tags serialise"))
        .bind(time::to_db(g.updated_at))
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// Writes an image's changeable attributes, if its status is still
    /// `status` (false if it changed meanwhile). `NotFound` if it is gone.
    pub async fn glance_image_update(&self, g: &GlanceImage, status: &str) -> StoreResult<bool> {
        let i = &g.image;
        let done = sqlx::query(
            "UPDATE images SET name = $1, visibility = $2, disk_format = $3, container_format = $4, \
             min_ram_mb = $5, min_disk_gb = $6, properties = $7, protected = $8, os_hidden = $9, tags = $10, \
             updated_at = $11, os_type = $12 WHERE id = $13 AND status = $14",
        )
        .bind(&i.name)
        .bind(&i.visibility)
        .bind(&i.disk_format)
        .bind(&i.container_format)
        .bind(i.min_ram_mb)
        .bind(i.min_disk_gb)
        .bind(serde_json::to_string(&i.properties).expect("properties serialise"))
        .bind(g.protected)
        .bind(g.os_hidden)
        .bind(serde_json::to_string(&g.tags).expect("tags serialise"))
        .bind(time::to_db(g.updated_at))
        .bind(&i.os_type)
        .bind(&i.id)
        .bind(status)
        .execute(&self.write)
        .await?;
        if done.rows_affected() == 0 {
            self.glance_image_get(&i.id).await?;
            return Ok(false);
        }
        Ok(true)
    }

    /// Moves an image from status `from` to `to`; false if it was not in `from`.
    pub async fn image_transition(&self, id: &str, from: &str, to: &str) -> StoreResult<bool> {
        let done = sqlx::query("UPDATE images SET status = $1, updated_at = $2 WHERE id = $3 AND status = $4")
            .bind(to)
            .bind(time::to_db(ecs_types::clock::now()))
            .bind(id)
            .bind(from)
            .execute(&self.write)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records an image's data (`None` forgets it) and moves it from `from`
    /// to `to`, with `properties` (where the data lives); false if it was
    /// not in `from`.
    pub async fn image_set_data(
        &self,
        id: &str,
        from: &str,
        to: &str,
        data: Option<&ImageData>,
        properties: &std::collections::BTreeMap<String, String>,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE images SET status = $1, size_bytes = $2, checksum = $3, os_hash_algo = $4, os_hash_value = $5, \
             virtual_size = $6, properties = $7, updated_at = $8 WHERE id = $9 AND status = $10",
        )
        .bind(to)
        .bind(data.map_or(0, |d| d.size))
        .bind(data.map(|d| d.checksum.clone()))
        .bind(data.map(|d| d.os_hash_algo.clone()))
        .bind(data.map(|d| d.os_hash_value.clone()))
        .bind(data.and_then(|d| d.virtual_size))
        .bind(serde_json::to_string(properties).expect("properties serialise"))
        .bind(time::to_db(ecs_types::clock::now()))
        .bind(id)
        .bind(from)
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Shares an image with a project; `Conflict` if it already is.
    pub async fn image_member_add(&self, m: &ImageMember) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO image_members (image_id, member_id, status, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&m.image_id)
        .bind(&m.member_id)
        .bind(&m.status)
        .bind(time::to_db(m.created_at))
        .bind(time::to_db(m.updated_at))
        .execute(&self.write)
        .await?;
        Ok(())
    }

    pub async fn image_members(&self, image_id: &str) -> StoreResult<Vec<ImageMember>> {
        sqlx::query("SELECT * FROM image_members WHERE image_id = $1 ORDER BY created_at, member_id")
            .bind(image_id)
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(member_from_row)
            .collect()
    }

    /// The images shared with a project.
    pub async fn image_memberships(&self, member_id: &str) -> StoreResult<Vec<ImageMember>> {
        sqlx::query("SELECT * FROM image_members WHERE member_id = $1")
            .bind(member_id)
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(member_from_row)
            .collect()
    }

    pub async fn image_member_set_status(&self, image_id: &str, member_id: &str, status: &str) -> StoreResult<()> {
        let done =
            sqlx::query("UPDATE image_members SET status = $1, updated_at = $2 WHERE image_id = $3 AND member_id = $4")
                .bind(status)
                .bind(time::to_db(ecs_types::clock::now()))
                .bind(image_id)
                .bind(member_id)
                .execute(&self.write)
                .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    pub async fn image_member_delete(&self, image_id: &str, member_id: &str) -> StoreResult<()> {
        let done = sqlx::query("DELETE FROM image_members WHERE image_id = $1 AND member_id = $2")
            .bind(image_id)
            .bind(member_id)
            .execute(&self.write)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }
}
