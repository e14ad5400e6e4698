# SPDX-License-Identifier: Apache-2.0
"""The shipped t1071detect/ecs_pb2.py must be exactly proto/t1071/ecs/v1/ecs.proto."""
import importlib.util
import os
import shutil
import subprocess

import pytest
from google.protobuf import descriptor_pb2

from t1071detect import ecs_pb2
from conftest import HERE, PROTO

PROTO_FILE = "t1071/ecs/v1/ecs.proto"


def _protoc():
    protoc = os.environ.get("PROTOC") or shutil.which("protoc")
    if not protoc:
        pytest.skip("protoc not installed (apt-get install protobuf-compiler)")
    return protoc


def test_descriptor_matches_proto(tmp_path):
    """protoc's descriptor of proto/ today == the descriptor the module registers."""
    out = tmp_path / "ecs.pb"
    subprocess.run([_protoc(), "-I", str(PROTO), "--descriptor_set_out=%s" % out, PROTO_FILE],
                   check=True)
    fds = descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes())
    assert len(fds.file) == 1
    want = fds.file[0]
    # protoc fills in json_name; generated modules embed the descriptor without it.
    for msg in want.message_type:
        for field in msg.field:
            field.ClearField("json_name")
    got = descriptor_pb2.FileDescriptorProto.FromString(ecs_pb2.DESCRIPTOR.serialized_pb)
    assert got == want, "stale ecs_pb2.py: run examples/python/gen_proto.py"
    assert ecs_pb2.DESCRIPTOR.serialized_pb == want.SerializeToString()


def test_generated_module_is_protoc_output():
    """Byte for byte, when the same protoc version made it."""
    spec = importlib.util.spec_from_file_location("gen_proto", HERE.parent / "gen_proto.py")
    if spec is None or not os.path.exists(spec.origin):
        pytest.skip("gen_proto.py is not next to the tests (installed copy)")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    protoc = _protoc()
    text = gen.generate(protoc, PROTO)
    shipped = open(ecs_pb2.__file__, encoding="utf-8").read()
    if text.splitlines()[0] != shipped.splitlines()[0]:
        pytest.skip("different protoc version: " + text.splitlines()[0])
    assert text == shipped, "stale ecs_pb2.py: run examples/python/gen_proto.py"


def test_messages_and_fields():
    names = {m.name for m in ecs_pb2.DESCRIPTOR.message_types_by_name.values()}
    assert {"Event", "Alert", "AlertMember", "AlertDestination", "AlertThreat",
            "AlertSubtechnique"} <= names
    assert ecs_pb2.DESCRIPTOR.package == "t1071.ecs.v1"
    assert ecs_pb2.DESCRIPTOR.syntax == "proto2"
    assert ecs_pb2.Event.DESCRIPTOR.fields_by_name["record_number"].number == 100
