"""A v1alpha reflection client, as Python tools speak it (grpcio-reflection).

Usage: python3 reflection_v1alpha.py HOST:PORT

Lists the server's services through grpc.reflection.v1alpha, resolves arena.Arena's
descriptors through it alone (no .proto files), and calls arena.Arena/Ping with
messages built from those descriptors, as grpcurl-like tools do. Prints one line per
check; exits 1 on the first mismatch. Driven by tests/reflection.rs.
"""

import sys

import grpc
from google.protobuf.descriptor_pool import DescriptorPool
from google.protobuf.message_factory import GetMessageClass
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)

WANTED = {"arena.Arena", "score.ScoreService", "grpc.health.v1.Health"}


def main(addr: str) -> int:
    with grpc.insecure_channel(addr) as channel:
        db = ProtoReflectionDescriptorDatabase(channel)
        services = set(db.get_services())
        print("services:", sorted(services))
        if not WANTED <= services:
            print("missing:", sorted(WANTED - services), file=sys.stderr)
            return 1

        arena = DescriptorPool(db).FindServiceByName("arena.Arena")
        ping = arena.methods_by_name["Ping"]
        request_class = GetMessageClass(ping.input_type)
        reply_class = GetMessageClass(ping.output_type)
        call = channel.unary_unary(
            "/arena.Arena/Ping",
            request_serializer=request_class.SerializeToString,
            response_deserializer=reply_class.FromString,
        )
        reply = call(request_class(client_time_us=7), timeout=10)
        print("ping:", reply.client_time_us, reply.server_time_us)
        if reply.client_time_us != 7 or reply.server_time_us == 0:
            print("unexpected ping reply", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1]))
