"""The aws_ebs provider of the snapshot and rollback roles, against a moto server.

The roles run for real (``ansible-playbook`` on the controller, the play's
host is ``localhost`` with a local connection, every AWS call goes to the
loopback moto server). Nothing reaches AWS: the endpoint is moto's loopback
URL, the credentials are fake, and the AWS environment of the playbook runs
is replaced with fake values and empty config files.

moto keeps no block data: a volume has no contents to change. The "data"
this test changes after the snapshot, and expects back after the rollback,
is what moto does keep of a volume: its size and its tags (``data=before``
becomes ``data=after`` and the volume grows from 5 to 9 GiB). What proves
the restore is EC2's own record: the device now carries a new volume whose
SnapshotId is the snapshot recorded in snapshot.json, with the size and tags
of the snapshot time, while the changed volume is still there, detached and
tagged with the volume that replaced it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
ANSIBLE_PLAYBOOK = str(Path(sys.executable).parent / "ansible-playbook")
AZ = "us-east-1a"
DATA_DEVICE = "/dev/sdf"
ROOT_DEVICE = "/dev/sda1"

SNAPSHOT_PLAY = """\
- name: Snapshot the instance's EBS volumes
  hosts: all
  gather_facts: false
  become: false
  tasks:
    - name: Take the snapshot
      ansible.builtin.include_role:
        name: patchpilot.fleet.snapshot
    - name: Show the result
      ansible.builtin.debug:
        var: snapshot_result.aws_ebs
"""

ROLLBACK_PLAY = """\
- name: Roll the instance back
  hosts: all
  gather_facts: false
  become: false
  tasks:
    - name: Restore from the snapshot
      ansible.builtin.include_role:
        name: patchpilot.fleet.rollback
"""


@pytest.fixture
def ec2(moto_server, monkeypatch):
    """A boto3 EC2 client of the moto server (fake credentials, set for this test only)."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", moto_server.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", moto_server.secret_key)
    monkeypatch.setenv("AWS_DEFAULT_REGION", moto_server.region)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return boto3.client("ec2", endpoint_url=moto_server.url, region_name=moto_server.region)


def make_instance(ec2) -> tuple[str, str]:
    """An instance with a root volume and a data volume (tag data=before, 5 GiB gp3) at /dev/sdf.

    Both volumes are made from a seed snapshot, as real root volumes are made
    from an AMI's snapshot: moto leaves SnapshotId out of a blank volume's
    description (EC2 returns an empty string), which amazon.aws.ec2_vol_info
    cannot read.
    """
    seed_volume = ec2.create_volume(AvailabilityZone=AZ, Size=1)["VolumeId"]
    seed = ec2.create_snapshot(VolumeId=seed_volume, Description="seed")["SnapshotId"]
    image = ec2.describe_images()["Images"][0]["ImageId"]
    instance = ec2.run_instances(
        ImageId=image,
        MinCount=1,
        MaxCount=1,
        InstanceType="t3.micro",
        Placement={"AvailabilityZone": AZ},
        BlockDeviceMappings=[
            {
                "DeviceName": ROOT_DEVICE,
                "Ebs": {"SnapshotId": seed, "VolumeSize": 8, "VolumeType": "gp3", "DeleteOnTermination": True},
            }
        ],
    )["Instances"][0]["InstanceId"]
    data = ec2.create_volume(
        AvailabilityZone=AZ,
        Size=5,
        VolumeType="gp3",
        SnapshotId=seed,
        TagSpecifications=[{"ResourceType": "volume", "Tags": [{"Key": "data", "Value": "before"}]}],
    )["VolumeId"]
    ec2.attach_volume(VolumeId=data, InstanceId=instance, Device=DATA_DEVICE)
    return instance, data


def devices(ec2, instance: str) -> dict[str, str]:
    described = ec2.describe_instances(InstanceIds=[instance])["Reservations"][0]["Instances"][0]
    return {m["DeviceName"]: m["Ebs"]["VolumeId"] for m in described["BlockDeviceMappings"]}


def volume(ec2, volume_id: str) -> dict:
    return ec2.describe_volumes(VolumeIds=[volume_id])["Volumes"][0]


def tags(resource: dict) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in resource.get("Tags", [])}


def playbook_env(moto_server) -> dict[str, str]:
    """The playbook's environment: no real AWS settings can leak in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
    )
    return env


def run_play(tmp_path: Path, moto_server, play: str, variables: dict, name: str) -> subprocess.CompletedProcess:
    """ansible-playbook from the repository root on localhost; the variables (fake keys among them) in a 0600 file."""
    inventory = tmp_path / "inventory.ini"
    inventory.write_text(f"localhost ansible_connection=local ansible_python_interpreter={PYTHON}\n", encoding="utf-8")
    playbook = tmp_path / f"{name}.yml"
    playbook.write_text(play, encoding="utf-8")
    extra = tmp_path / f"{name}-vars.json"
    extra.write_text(json.dumps(variables), encoding="utf-8")
    extra.chmod(0o600)
    argv = [ANSIBLE_PLAYBOOK, "-i", str(inventory), "-e", f"@{extra}", str(playbook)]
    proc = subprocess.run(
        argv, cwd=ROOT, env=playbook_env(moto_server), capture_output=True, text=True, timeout=600, check=False
    )
    (tmp_path / f"{name}.log").write_text(proc.stdout + proc.stderr, encoding="utf-8")
    return proc


def snapshot_vars(moto_server, archive: Path, run_id: str, **overrides) -> dict:
    variables = {
        "snapshot_provider": "aws_ebs",
        "snapshot_run_id": run_id,
        "snapshot_archive_dir": str(archive),
        "snapshot_aws_region": moto_server.region,
        "snapshot_aws_endpoint_url": moto_server.url,
        "snapshot_aws_access_key": moto_server.access_key,
        "snapshot_aws_secret_key": moto_server.secret_key,
        "snapshot_aws_wait_timeout": 60,
    }
    variables.update(overrides)
    return variables


def rollback_vars(moto_server, archive: Path, run_id: str) -> dict:
    # No endpoint here: the rollback takes the one recorded in snapshot.json.
    return {
        "rollback_run_id": run_id,
        "rollback_archive_dir": str(archive),
        "rollback_aws_access_key": moto_server.access_key,
        "rollback_aws_secret_key": moto_server.secret_key,
        "rollback_aws_wait_timeout": 60,
    }


def output(proc: subprocess.CompletedProcess) -> str:
    return f"exit {proc.returncode}\n{proc.stdout[-6000:]}\n{proc.stderr[-3000:]}"


def test_snapshot_then_rollback_restores_the_volume(tmp_path, moto_server, ec2):
    instance, data = make_instance(ec2)
    root_before = devices(ec2, instance)[ROOT_DEVICE]
    run_id = "20260101T000000Z-ebs"
    archive = tmp_path / "runs" / run_id / "archive" / "localhost"

    # 1. Snapshot: every volume attached to the instance.
    proc = run_play(tmp_path, moto_server, SNAPSHOT_PLAY, snapshot_vars(moto_server, archive, run_id,
                    snapshot_aws_instance_id=instance), "snapshot")
    assert proc.returncode == 0, output(proc)
    assert moto_server.secret_key not in proc.stdout + proc.stderr

    record = json.loads((archive / "snapshot.json").read_text(encoding="utf-8"))
    assert record["provider"] == "aws_ebs"
    ebs = record["aws_ebs"]
    assert ebs["region"] == moto_server.region
    assert ebs["endpoint_url"] == moto_server.url
    assert ebs["instance_id"] == instance
    by_device = {v["device"]: v for v in ebs["volumes"]}
    assert set(by_device) == {ROOT_DEVICE, DATA_DEVICE}
    recorded = by_device[DATA_DEVICE]
    assert recorded["volume_id"] == data
    assert (recorded["size"], recorded["type"], recorded["az"]) == (5, "gp3", AZ)
    assert recorded["tags"] == {"data": "before"}
    assert by_device[ROOT_DEVICE]["volume_id"] == root_before
    assert by_device[ROOT_DEVICE]["root"] is True

    snapshots = {s["SnapshotId"]: s for s in ec2.describe_snapshots(
        SnapshotIds=[v["snapshot_id"] for v in ebs["volumes"]])["Snapshots"]}
    data_snapshot = snapshots[recorded["snapshot_id"]]
    assert data_snapshot["VolumeId"] == data
    assert data_snapshot["State"] == "completed"
    assert tags(data_snapshot) == {
        "patchpilot_run_id": run_id,
        "patchpilot_host": "localhost",
        "patchpilot_device": DATA_DEVICE,
    }

    # 2. Change the data volume after the snapshot (what moto keeps: tags, size).
    ec2.create_tags(Resources=[data], Tags=[{"Key": "data", "Value": "after"}])
    ec2.modify_volume(VolumeId=data, Size=9)
    changed = volume(ec2, data)
    assert (tags(changed)["data"], changed["Size"]) == ("after", 9)

    # 3. Roll back.
    proc = run_play(tmp_path, moto_server, ROLLBACK_PLAY, rollback_vars(moto_server, archive, run_id), "rollback")
    assert proc.returncode == 0, output(proc)
    assert moto_server.secret_key not in proc.stdout + proc.stderr

    now = devices(ec2, instance)
    restored = volume(ec2, now[DATA_DEVICE])
    assert restored["VolumeId"] != data
    assert restored["SnapshotId"] == recorded["snapshot_id"]
    assert restored["Size"] == 5
    assert restored["VolumeType"] == "gp3"
    assert restored["AvailabilityZone"] == AZ
    assert tags(restored)["data"] == "before"
    assert tags(restored)["patchpilot_restore_of"] == data
    assert restored["Attachments"][0]["InstanceId"] == instance

    root_now = volume(ec2, now[ROOT_DEVICE])
    assert root_now["VolumeId"] != root_before
    assert root_now["SnapshotId"] == by_device[ROOT_DEVICE]["snapshot_id"]

    # The changed volume is kept, detached, and says what replaced it.
    replaced = volume(ec2, data)
    assert replaced["State"] == "available"
    assert replaced["Attachments"] == []
    assert tags(replaced)["patchpilot_replaced_by"] == restored["VolumeId"]
    assert tags(replaced)["data"] == "after"
    assert replaced["Size"] == 9
    assert volume(ec2, root_before)["State"] == "available"

    instance_state = ec2.describe_instances(InstanceIds=[instance])["Reservations"][0]["Instances"][0]["State"]["Name"]
    assert instance_state == "running"

    result = json.loads((archive / "rollback.json").read_text(encoding="utf-8"))
    assert result["ok"] is True, result
    assert result["provider"] == "aws_ebs"
    steps = [t["step"] for t in result["tried"]]
    assert "aws_ebs: instance stopped" in steps
    assert "aws_ebs: devices carry the restored volumes" in steps
    assert "aws_ebs: instance started" in steps

    # 4. A second rollback of the same run changes nothing: no new volume, same devices.
    volume_count = len(ec2.describe_volumes()["Volumes"])
    proc = run_play(tmp_path, moto_server, ROLLBACK_PLAY, rollback_vars(moto_server, archive, run_id), "rollback-again")
    assert proc.returncode == 0, output(proc)
    assert len(ec2.describe_volumes()["Volumes"]) == volume_count
    assert devices(ec2, instance) == now
    again = json.loads((archive / "rollback.json").read_text(encoding="utf-8"))
    assert "aws_ebs: instance stopped" not in [t["step"] for t in again["tried"]]


def test_snapshot_of_listed_volumes_finds_the_instance(tmp_path, moto_server, ec2):
    """Only the listed volume is snapshotted; the instance comes from its attachment."""
    instance, data = make_instance(ec2)
    run_id = "20260101T000000Z-listed"
    archive = tmp_path / "archive"
    proc = run_play(tmp_path, moto_server, SNAPSHOT_PLAY, snapshot_vars(moto_server, archive, run_id,
                    snapshot_aws_volume_ids=[data]), "snapshot")
    assert proc.returncode == 0, output(proc)
    ebs = json.loads((archive / "snapshot.json").read_text(encoding="utf-8"))["aws_ebs"]
    assert ebs["instance_id"] == instance
    assert [v["volume_id"] for v in ebs["volumes"]] == [data]
    assert [v["device"] for v in ebs["volumes"]] == [DATA_DEVICE]

    # A rollback whose snapshot is gone fails loudly and leaves the instance as it was.
    ec2.delete_snapshot(SnapshotId=ebs["volumes"][0]["snapshot_id"])
    before = devices(ec2, instance)
    proc = run_play(tmp_path, moto_server, ROLLBACK_PLAY, rollback_vars(moto_server, archive, run_id), "rollback")
    assert proc.returncode != 0, output(proc)
    text = " ".join((proc.stdout + proc.stderr).split())
    assert "ROLLBACK FAILED on localhost (provider aws_ebs)" in text, output(proc)
    assert "aws_ebs restore failed at AWS EBS - read the snapshots" in text, output(proc)
    assert "Traceback" not in text
    result = json.loads((archive / "rollback.json").read_text(encoding="utf-8"))
    assert result["ok"] is False
    assert devices(ec2, instance) == before
    assert ec2.describe_instances(InstanceIds=[instance])["Reservations"][0]["Instances"][0]["State"]["Name"] == "running"


# Bad input: (case, variables over the defaults, message expected). One
# playbook run covers every case, one inventory host per case.
BAD_INPUT = [
    (
        "no-instance-no-volumes",
        {"snapshot_aws_instance_id": "", "snapshot_aws_volume_ids": []},
        "set snapshot_aws_instance_id (all EBS volumes attached to that instance are snapshotted) "
        "or snapshot_aws_volume_ids (a list of volume ids); both are empty",
    ),
    (
        "no-region",
        {"snapshot_aws_instance_id": "i-0123456789abcdef0", "snapshot_aws_region": ""},
        "snapshot_aws_region is empty, set it to the instance's AWS region",
    ),
    (
        "unknown-instance",
        {"snapshot_aws_instance_id": "i-0123456789abcdef0"},
        "no EBS volume is attached to instance i-0123456789abcdef0 in us-east-1 "
        "(check snapshot_aws_instance_id and snapshot_aws_region)",
    ),
    (
        "unknown-volume",
        {"snapshot_aws_volume_ids": ["vol-0123456789abcdef0"]},
        "volumes not found in us-east-1: vol-0123456789abcdef0 (check snapshot_aws_volume_ids and snapshot_aws_region)",
    ),
]


def test_snapshot_refuses_bad_input(tmp_path, moto_server):
    """Each bad setting fails its host with a message naming the variable, never a traceback."""
    hosts = {}
    for case, overrides, _message in BAD_INPUT:
        variables = snapshot_vars(moto_server, tmp_path / case, "20260101T000000Z-bad", **overrides)
        variables.pop("snapshot_aws_secret_key")
        hosts[case] = {"ansible_connection": "local", "ansible_python_interpreter": PYTHON, **variables}
    inventory = tmp_path / "bad.yml"
    inventory.write_text(json.dumps({"all": {"hosts": hosts}}), encoding="utf-8")
    secret = tmp_path / "secret.json"
    secret.write_text(json.dumps({"snapshot_aws_secret_key": moto_server.secret_key}), encoding="utf-8")
    secret.chmod(0o600)
    playbook = tmp_path / "snapshot.yml"
    playbook.write_text(SNAPSHOT_PLAY, encoding="utf-8")
    proc = subprocess.run(
        [ANSIBLE_PLAYBOOK, "-i", str(inventory), "-e", f"@{secret}", str(playbook)],
        cwd=ROOT, env=playbook_env(moto_server), capture_output=True, text=True, timeout=600, check=False,
    )
    text = " ".join((proc.stdout + proc.stderr).split())
    assert proc.returncode != 0, output(proc)
    assert "Traceback" not in text
    assert moto_server.secret_key not in text
    for case, _overrides, message in BAD_INPUT:
        assert f"snapshot_provider aws_ebs on {case}: {message}" in text, f"{case}:\n{output(proc)}"
        assert f"{case} : ok=" in text and "failed=1" in text.split(f"{case} : ok=")[1].split(" ignored")[0], case
        assert not (tmp_path / case / "snapshot.json").exists()
