"""The peer of `PyreBench ebs-upload`: boto3's `ebs` client writing a disk image to a snapshot.

It does what Pyre's upload does: start a snapshot, send every 512 KiB block of the disk that
holds data with its SHA-256 (threads share one client, as boto3 allows), then complete the
snapshot with the aggregate checksum. Prints one JSON line: wall time, blocks and bytes sent.
AWS_* variables point it at moto.
"""
import argparse
import base64
import hashlib
import json
import os
import resource
import time
from concurrent.futures import ThreadPoolExecutor

import boto3

BLOCK = 512 * 1024
parser = argparse.ArgumentParser()
parser.add_argument("--disk", required=True)
parser.add_argument("--threads", type=int, default=16)
args = parser.parse_args()

ebs = boto3.client("ebs")
size = os.path.getsize(args.disk)
start = time.monotonic()
snapshot = ebs.start_snapshot(VolumeSize=(size + (1 << 30) - 1) >> 30, Description="boto3 peer")["SnapshotId"]


def data_blocks(fd):
    """Block indexes inside the file's data regions (holes are skipped, as Pyre does)."""
    offset, blocks = 0, []
    while offset < size:
        try:
            data = os.lseek(fd, offset, os.SEEK_DATA)
        except OSError:
            break
        hole = os.lseek(fd, data, os.SEEK_HOLE)
        blocks.extend(range(data // BLOCK, (hole + BLOCK - 1) // BLOCK))
        offset = hole
    return sorted(set(blocks))


fd = os.open(args.disk, os.O_RDONLY)


def put(index):
    block = os.pread(fd, BLOCK, index * BLOCK).ljust(BLOCK, b"\0")
    if block.count(0) == BLOCK:
        return None
    digest = hashlib.sha256(block).digest()
    ebs.put_snapshot_block(SnapshotId=snapshot, BlockIndex=index, BlockData=block, DataLength=BLOCK,
                           Checksum=base64.b64encode(digest).decode(), ChecksumAlgorithm="SHA256")
    return index, digest


with ThreadPoolExecutor(args.threads) as pool:
    written = sorted(result for result in pool.map(put, data_blocks(fd)) if result)
aggregate = base64.b64encode(hashlib.sha256(b"".join(digest for _, digest in written)).digest()).decode()
ebs.complete_snapshot(SnapshotId=snapshot, ChangedBlocksCount=len(written), Checksum=aggregate,
                      ChecksumAlgorithm="SHA256", ChecksumAggregationMethod="LINEAR")
usage = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"seconds": time.monotonic() - start, "blocks": len(written), "bytes": len(written) * BLOCK,
                  "snapshot": snapshot, "cpu_seconds": usage.ru_utime + usage.ru_stime}))
