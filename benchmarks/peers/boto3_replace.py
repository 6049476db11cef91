"""The peer of `PyreBench aws`: a straightforward boto3 script replacing a fleet.

It launches N instances from one AMI and publishes them in Route 53 (setup, not timed),
then replaces them the way a hand-written deploy script would: find the old instances,
run N new ones from the new AMI, wait until they run, upsert the record, wait until the
change is in sync, terminate the old ones. Prints one JSON line: the replacement's wall
time and the number of API calls it made. AWS_* variables point it at moto.
"""
import argparse
import json
import time

import boto3

parser = argparse.ArgumentParser()
parser.add_argument("--servers", type=int, required=True)
parser.add_argument("--system", required=True)
parser.add_argument("--old-ami", required=True)
parser.add_argument("--new-ami", required=True)
args = parser.parse_args()

ec2 = boto3.client("ec2")
route53 = boto3.client("route53")
calls = 0


def count(**_):
    global calls
    calls += 1


for client in (ec2, route53):
    client.meta.events.register("before-call", count)

zone_name = f"{args.system}.pyre.bench."
zone = route53.create_hosted_zone(Name=zone_name, CallerReference=args.system)["HostedZone"]["Id"]


def launch(ami, generation):
    tags = [{"Key": "bench:system", "Value": args.system}, {"Key": "bench:generation", "Value": str(generation)}]
    answer = ec2.run_instances(ImageId=ami, InstanceType="t3.micro", MinCount=args.servers, MaxCount=args.servers,
                               TagSpecifications=[{"ResourceType": "instance", "Tags": tags}])
    instances = answer["Instances"]
    ids = [instance["InstanceId"] for instance in instances]
    ec2.get_waiter("instance_running").wait(InstanceIds=ids, WaiterConfig={"Delay": 1})
    return ids, [instance["PrivateIpAddress"] for instance in instances]


def publish(addresses):
    change = route53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": [{
        "Action": "UPSERT",
        "ResourceRecordSet": {"Name": f"web.{zone_name}", "Type": "A", "TTL": 5,
                              "ResourceRecords": [{"Value": address} for address in addresses]},
    }]})
    route53.get_waiter("resource_record_sets_changed").wait(Id=change["ChangeInfo"]["Id"], WaiterConfig={"Delay": 1})


_, old_addresses = launch(args.old_ami, 1)
publish(old_addresses)

calls = 0
start = time.monotonic()
old_ids = [
    instance["InstanceId"]
    for page in ec2.get_paginator("describe_instances").paginate(Filters=[
        {"Name": "tag:bench:system", "Values": [args.system]},
        {"Name": "tag:bench:generation", "Values": ["1"]},
        {"Name": "instance-state-name", "Values": ["pending", "running"]},
    ])
    for reservation in page["Reservations"]
    for instance in reservation["Instances"]
]
_, new_addresses = launch(args.new_ami, 2)
publish(new_addresses)
ec2.terminate_instances(InstanceIds=old_ids)
elapsed = time.monotonic() - start
print(json.dumps({"seconds": elapsed, "calls": calls, "replaced": len(old_ids)}))
