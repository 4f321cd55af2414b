"""Huawei IMS through huaweicloudsdkims: ListImages with IMS's filters,
CreateImage from a server and from a volume (jobs), UpdateImage, the
Glance-style delete the SDK calls, and IMS's errors with a request id."""

import pytest
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkims.v2 import (
    CreateImageRequest,
    CreateImageRequestBody,
    GlanceDeleteImageRequest,
    GlanceDeleteImageRequestBody,
    ImsClient,
    ListImagesRequest,
    ListImageTagsRequest,
    ShowImageQuotaRequest,
    ShowJobProgressRequest,
    ShowJobRequest,
    UpdateImageRequest,
    UpdateImageRequestBody,
)


def wait_ims_job(ims, job_id, timeout=120):
    import time

    deadline = time.time() + timeout
    while time.time() < deadline:
        job = ims.show_job(ShowJobRequest(job_id=job_id))
        if job.status in ("SUCCESS", "FAIL"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not end in {timeout} s")


def find(ims, image_id):
    images = ims.list_images(ListImagesRequest(id=image_id)).images
    return images[0] if images else None


@pytest.fixture(scope="module")
def ims(hw):
    return hw(ImsClient)


@pytest.fixture(scope="module")
def public_image(demo):
    return next(demo.image.images(visibility="public"))


def test_list_images_with_filters(ims, public_image):
    images = ims.list_images(
        ListImagesRequest(imagetype="gold", status="active", os_type="Linux", sort_key="name", sort_dir="asc", limit=50)
    ).images
    image = next(i for i in images if i.id == public_image.id)
    assert image.name == public_image.name
    assert image.imagetype == "gold"
    assert image.os_type == "Linux"
    assert image.platform and image.os_version and image.os_bit == "64"
    assert image.image_size == str(public_image.size)
    assert image.isregistered == "true" and image.image_source_type == "uds"
    assert image.status == "active" and image.visibility == "public"
    assert image.disk_format and image.container_format and image.min_disk >= 1
    assert image.created_at and image.updated_at and image.owner
    assert image._self == f"/v2/images/{image.id}" and image.file and image.schema
    assert image.virtual_env_type == "FusionCompute" and image.support_kvm == "true"
    assert image.protected is False and image.tags == []

    for request, listed in [
        (ListImagesRequest(imagetype="private"), False),
        (ListImagesRequest(name=public_image.name), True),
        (ListImagesRequest(platform=image.platform), True),
        (ListImagesRequest(os_type="Windows"), False),
        (ListImagesRequest(visibility="public", disk_format=image.disk_format), True),
        (ListImagesRequest(min_disk=image.min_disk), True),
        (ListImagesRequest(id=public_image.id), True),
    ]:
        ids = [i.id for i in ims.list_images(request).images]
        assert (public_image.id in ids) == listed, request

    # Paging by marker.
    first = ims.list_images(ListImagesRequest(limit=1, sort_key="name")).images
    assert len(first) == 1


def test_ims_errors_carry_ims_codes_and_a_request_id(ims, public_image):
    with pytest.raises(ClientRequestException) as e:
        ims.list_images(ListImagesRequest(imagetype="bogus"))
    assert e.value.status_code == 400 and e.value.error_code == "IMG.0024"
    assert e.value.request_id
    with pytest.raises(ClientRequestException) as e:
        ims.create_image(CreateImageRequest(body=CreateImageRequestBody(name="nothing")))
    assert e.value.status_code == 400 and e.value.error_code == "IMG.0012" and e.value.request_id
    with pytest.raises(ClientRequestException) as e:
        body = CreateImageRequestBody(name="x", instance_id="00000000-0000-0000-0000-000000000000")
        ims.create_image(CreateImageRequest(body=body))
    assert e.value.error_code == "IMG.0005"
    # An IMS API ecsd does not serve: IMS's 404, never an empty body.
    with pytest.raises(ClientRequestException) as e:
        ims.list_image_tags(ListImageTagsRequest(image_id=public_image.id))
    assert e.value.status_code == 404 and e.value.error_code == "APIGW.0101" and e.value.request_id
    # A public image is not the caller's to change.
    with pytest.raises(ClientRequestException) as e:
        change = [UpdateImageRequestBody(op="replace", path="/name", value="mine")]
        ims.update_image(UpdateImageRequest(image_id=public_image.id, body=change))
    assert e.value.status_code == 403 and e.value.request_id


def test_create_update_delete_private_images(ims, demo, public_image):
    server = demo.compute.create_server(name="ims-src", image_id=public_image.id, flavor_id="m1.tiny", networks="none")
    volume = None
    made = []
    try:
        demo.compute.wait_for_server(server, wait=120)

        # CreateImage of the server's system disk: a job that names the image.
        body = CreateImageRequestBody(
            name="ims-from-server", instance_id=server.id, description="by the SDK", tags=["env.test"], min_ram=512
        )
        job_id = ims.create_image(CreateImageRequest(body=body)).job_id
        assert job_id
        job = wait_ims_job(ims, job_id)
        assert job.status == "SUCCESS", job
        assert job.job_id == job_id and job.begin_time and job.end_time
        image_id = job.entities.image_id
        assert image_id
        progress = ims.show_job_progress(ShowJobProgressRequest(job_id=job_id))
        assert progress.status == "SUCCESS" and progress.entities.image_id == image_id
        made.append(image_id)
        image = find(ims, image_id)
        assert image.name == "ims-from-server"
        assert image.imagetype == "private" and image.visibility == "private"
        assert image.status == "active"
        assert image.description == "by the SDK"
        assert image.data_origin == f"instance,{server.id}"
        assert image.min_ram == 512 and image.tags == ["env.test"]
        assert image.owner == demo.current_project_id
        private = ims.list_images(ListImagesRequest(imagetype="private")).images
        assert image_id in [i.id for i in private]

        # CreateImage of a volume.
        volume = demo.block_storage.create_volume(size=2, name="ims-src")
        demo.block_storage.wait_for_status(volume, status="available", wait=60)
        body = CreateImageRequestBody(name="ims-from-volume", volume_id=volume.id)
        job = wait_ims_job(ims, ims.create_image(CreateImageRequest(body=body)).job_id)
        assert job.status == "SUCCESS", job
        from_volume = job.entities.image_id
        made.append(from_volume)
        image = find(ims, from_volume)
        assert image.name == "ims-from-volume" and image.min_disk == 2
        assert image.data_origin == f"volume,{volume.id}" and image.imagetype == "private"

        quota = ims.show_image_quota(ShowImageQuotaRequest()).quotas.resources[0]
        assert quota.type == "image" and quota.used >= 2 and quota.quota >= quota.used

        # UpdateImage: IMS's changes, the image as it is after.
        changes = [
            UpdateImageRequestBody(op="replace", path="/name", value="ims-renamed"),
            UpdateImageRequestBody(op="replace", path="/__description", value="changed"),
            UpdateImageRequestBody(op="replace", path="/min_ram", value="1024"),
        ]
        updated = ims.update_image(UpdateImageRequest(image_id=image_id, body=changes))
        assert updated.id == image_id and updated.name == "ims-renamed"
        assert updated.description == "changed" and updated.min_ram == 1024
        assert updated.imagetype == "private" and updated.os_type == "Linux"

        # Delete, as the SDK's glance_delete_image calls it.
        for i in list(made):
            ims.glance_delete_image(
                GlanceDeleteImageRequest(image_id=i, body=GlanceDeleteImageRequestBody(delete_backup=False))
            )
            made.remove(i)
            assert find(ims, i) is None
    finally:
        for i in made:
            demo.image.delete_image(i, ignore_missing=True)
        demo.compute.delete_server(server)
        if volume is not None:
            demo.block_storage.delete_volume(volume, ignore_missing=True)
